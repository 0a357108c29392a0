"""`flask jobs diagnose`: everything that can keep a job from finishing, each problem named.

Builds on the same facts as the reconciler (queue/reconcile.py) but only reads: workers alive,
queue depths, queued rows that no RQ job will run, running rows without a heartbeat, recent
enqueue errors, failed jobs by code, and when the periodic tasks last ran.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import func, select

from backend_app.extensions import QUEUE_NAMES, db, get_queue, redis_store
from backend_app.models import Job
from backend_app.models.base import iso, utcnow
from backend_app.models.job import FAILED, QUEUED
from backend_app.queue.periodic import PERIODIC, last_runs
from backend_app.queue.reconcile import silent_running, stale_queued
from backend_app.queue.workers import live_workers, rq_state

RECENT = timedelta(hours=24)


def _brief(job: Job, **extra: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "user_id": job.user_id,
        "attempts": job.attempts,
        "created_at": iso(job.created_at),
        **extra,
    }


def _redis_facts(facts: dict[str, Any], problems: list[str]) -> bool:
    try:
        redis_store.conn.ping()
    except RedisError as exc:
        problems.append(f"Redis is unreachable ({type(exc).__name__}): nothing can be queued or run")
        return False
    workers = live_workers()
    facts["workers"] = [
        {"name": w.name, "host": w.hostname, "pid": w.pid, "state": w.get_state(), "queues": w.queue_names()}
        for w in workers
    ]
    facts["queues"] = {name: get_queue(name).count for name in QUEUE_NAMES}
    facts["periodic"] = last_runs()
    if not workers:
        problems.append("no worker is alive: queued jobs will wait until one starts (python worker.py)")
    served = {q for w in workers for q in w.queue_names()}
    for name, depth in facts["queues"].items():
        if depth and name not in served:
            problems.append(f"queue {name} holds {depth} job(s) but no live worker listens to it")
    settings = current_app.config["SETTINGS"]
    for name, interval_of, _ in PERIODIC:  # the reconciler and the purge run on any live worker
        late_after = max(float(interval_of(settings)), 1.0) * 3
        last = (facts["periodic"] or {}).get(name)
        if workers and (last is None or _age_s(last["at"]) > late_after):
            problems.append(f"the periodic task {name} has not run in the last {late_after:g} s")
    return True


def _age_s(stamp: str) -> float:
    return (utcnow() - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()


def _row_facts(facts: dict[str, Any], problems: list[str], redis_ok: bool) -> None:
    settings = current_app.config["SETTINGS"]
    queued = []
    for job in stale_queued(settings.stale_queued_s):
        rq = rq_state(job.id) if redis_ok else {"status": "unknown", "live": False}
        if not rq["live"]:
            queued.append(_brief(job, rq_status=rq["status"], enqueue_last_error=job.enqueue_last_error))
    facts["queued_without_rq_job"] = queued
    if queued:
        problems.append(f"{len(queued)} queued job(s) have no live RQ job (the reconciler re-enqueues them)")
    silent = [_brief(job, worker=job.worker_name, heartbeat_at=iso(job.heartbeat_at)) for job in silent_running()]
    facts["running_without_heartbeat"] = silent
    if silent:
        problems.append(
            f"{len(silent)} running job(s) stopped heartbeating for over {settings.job_lost_after_s} s (worker lost?)"
        )
    since = utcnow() - RECENT
    errors = (
        db.session.execute(
            select(Job)
            .where(Job.enqueue_last_error.is_not(None), Job.created_at >= since)
            .order_by(Job.created_at.desc())
            .limit(20)
        )
        .scalars()
        .all()
    )
    facts["recent_enqueue_errors"] = [
        _brief(j, enqueue_attempts=j.enqueue_attempts, error=j.enqueue_last_error) for j in errors
    ]
    if errors:
        problems.append(
            f"{len(errors)} job(s) in the last 24 h could not be handed to Redis: {errors[0].enqueue_last_error}"
        )
    facts["enqueued_after_retries_24h"] = db.session.execute(  # Redis blinked, the seam or reconciler coped
        select(func.count())
        .select_from(Job)
        .where(Job.enqueue_attempts > 1, Job.enqueue_last_error.is_(None), Job.created_at >= since)
    ).scalar()
    by_code = db.session.execute(
        select(Job.error_code, func.count()).where(Job.status == FAILED).group_by(Job.error_code)
    ).all()
    facts["failed_by_code"] = {code or "UNKNOWN": n for code, n in by_code}
    if facts["failed_by_code"]:
        listed = ", ".join(f"{code} x{n}" for code, n in sorted(facts["failed_by_code"].items()))
        problems.append(f"{sum(facts['failed_by_code'].values())} failed job(s) in the dead-letter list: {listed}")
    facts["queued_total"] = db.session.execute(
        select(func.count()).select_from(Job).where(Job.status == QUEUED)
    ).scalar()


def diagnose() -> dict[str, Any]:
    """Facts plus a list of named problems and a one-line verdict in plain words."""
    facts: dict[str, Any] = {"checked_at": iso(utcnow())}
    problems: list[str] = []
    redis_ok = _redis_facts(facts, problems)
    _row_facts(facts, problems, redis_ok)
    facts["problems"] = problems
    if not problems:
        facts["verdict"] = "OK: workers are alive, nothing is stuck and nothing has failed."
    elif not redis_ok or not facts.get("workers"):
        facts["verdict"] = "DOWN: jobs cannot run right now; fix the first problem listed."
    else:
        facts["verdict"] = f"ATTENTION: {len(problems)} problem(s) found; each is named in the list."
    return facts
