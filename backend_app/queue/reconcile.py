"""The reconciler: no job row stays `queued` or `running` without something that will finish it.

Rules (the row is the truth, RQ carries the work):

* ``queued`` rows waiting longer than STALE_QUEUED_S with no live RQ job (not in the queue,
  not scheduled for a retry, not started by a live worker) are enqueued again through the seam.
  Only dispatched rows count: a row held for its user's turn (no ``dispatched_at``, see
  queue/enqueue.py) has no RQ job on purpose.
* Held rows whose user has a free dispatch slot are released (the runner does this as each job
  ends; this pass catches a worker that died between finishing a job and releasing the next).
* ``running`` rows whose heartbeat is older than JOB_LOST_AFTER_S, and whose RQ worker is gone
  or no longer running them, lost their worker: back to ``queued`` and enqueued again (the
  lost attempt counts), or ``failed`` with WORKER_LOST once JOB_MAX_ATTEMPTS runs were made.
* ``running`` rows past their kind's hard time limit plus a grace period fail with JOB_TIMEOUT
  (RQ kills such a work horse itself; this catches the case where nothing was left to do it),
  or, for a resumable kind with attempts left and no live RQ job, go back to the queue.

Runs in the worker every RECONCILE_INTERVAL_S (queue/periodic.py, run by jobs/schedule.py), from
`flask jobs reconcile` and from `POST /api/v1/admin/jobs/reconcile`. Every change is a
compare-and-set on the row, so two reconcilers, or a reconciler and a late worker, never both
act on one job.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation
from sqlalchemy import func, select

from backend_app.extensions import db, redis_store
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.models.job import QUEUED, RUNNING
from backend_app.queue import kinds as registry
from backend_app.queue import state
from backend_app.queue.enqueue import expects_rq_job, release, send, users_with_held
from backend_app.queue.workers import rq_state

log = logging.getLogger(__name__)
TIMEOUT_GRACE_S = 120  # RQ itself kills a horse 60 s after its limit; give it that chance first


def _entry(job: Job, action: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "attempts": job.attempts,
        "user_id": job.user_id,
        "action": action,
        **extra,
    }


def stale_queued(older_than_s: float, now: datetime | None = None) -> list[Job]:
    """Queued rows whose staleness clock is older than ``older_than_s`` (RQ not consulted)."""
    cutoff = (now or utcnow()) - timedelta(seconds=older_than_s)
    clock = func.coalesce(Job.queued_at, Job.created_at)
    dispatched = expects_rq_job()
    return list(
        db.session.execute(
            select(Job).where(Job.status == QUEUED, dispatched, clock < cutoff).order_by(clock)
        ).scalars()
    )


def silent_running(now: datetime | None = None) -> list[Job]:
    """Running rows whose heartbeat stopped for longer than JOB_LOST_AFTER_S."""
    cutoff = (now or utcnow()) - timedelta(seconds=current_app.config["SETTINGS"].job_lost_after_s)
    beat = func.coalesce(Job.heartbeat_at, Job.started_at, Job.created_at)
    return list(db.session.execute(select(Job).where(Job.status == RUNNING, beat < cutoff)).scalars())


def requeue_stale(older_than_s: float, *, now: datetime | None = None, dry_run: bool = False) -> list[dict]:
    """Enqueue queued rows older than ``older_than_s`` that no live RQ job will run."""
    done = []
    for job in stale_queued(older_than_s, now):
        rq = rq_state(job.id)
        if rq["live"] and not _hung_before_start(job, rq, now, dry_run):
            continue
        entry = _entry(job, "requeue", rq_status=rq["status"], enqueue_last_error=job.enqueue_last_error)
        if not dry_run:
            entry["enqueued"] = send(job)
        done.append(entry)
    return done


def release_held(*, dry_run: bool = False) -> list[dict]:
    """Hand held rows to RQ wherever their user has a free slot on their queue."""
    done = []
    for user_id, queue in users_with_held():
        if dry_run:
            done.append({"user_id": user_id, "queue": queue, "action": "release"})
            continue
        for job_id in release(user_id, queue) or []:
            done.append({"id": job_id, "user_id": user_id, "queue": queue, "action": "release"})
    return done


def _hung_before_start(job: Job, rq: dict[str, Any], now: datetime | None, dry_run: bool) -> bool:
    """A live RQ execution whose horse never claimed the row (hung at start): stop it, run anew."""
    started = rq.get("started_at")
    lost_after = current_app.config["SETTINGS"].job_lost_after_s
    if rq["status"] != "started" or started is None or ((now or utcnow()) - started).total_seconds() < lost_after:
        return False
    if not dry_run:
        try:
            send_stop_job_command(redis_store.conn, job.id)
        except (RedisError, InvalidJobOperation):
            pass  # the worker is gone or already done with it
    return True


def recover_lost(*, now: datetime | None = None, dry_run: bool = False) -> list[dict]:
    """Re-queue (or fail) running rows whose worker died."""
    done = []
    for job in silent_running(now):
        rq = rq_state(job.id)
        if rq["status"] == "started" and rq["live"]:
            continue  # its worker is alive and still monitoring it: a slow heartbeat, not a loss
        last = f" (last error: {job.error_code})" if job.error_code else ""
        message = f"worker {job.worker_name or '?'} stopped heartbeating during attempt {job.attempts}{last}"
        action = "requeue" if state.attempts_left(job) else "fail"
        entry = _entry(job, action, worker=job.worker_name, rq_status=rq["status"])
        if not dry_run:
            new_status = state.settle_interrupted(job, state.WORKER_LOST, message)
            if new_status == QUEUED:
                db.session.refresh(job)
                entry["enqueued"] = send(job)
            entry["status"] = new_status
        done.append(entry)
    return done


def fail_overdue(*, now: datetime | None = None, dry_run: bool = False) -> list[dict]:
    """Settle running rows that outlived their kind's hard time limit (plus grace): JOB_TIMEOUT.

    A resumable kind with attempts left whose RQ job is gone goes back to the queue (its next run
    resumes); everything else fails."""
    now = now or utcnow()
    done = []
    for job in db.session.execute(select(Job).where(Job.status == RUNNING)).scalars().all():
        try:
            limit = registry.get(job.kind).timeout_s()
        except LookupError:
            continue
        if job.started_at is None or (now - job.started_at).total_seconds() < limit + TIMEOUT_GRACE_S:
            continue
        message = f"still running after the hard time limit of {limit} s"
        again = state.retries_after(job, state.JOB_TIMEOUT) and not rq_state(job.id)["live"]
        entry = _entry(job, "requeue" if again else "fail", limit_s=limit)
        done.append(entry)
        if dry_run:
            continue
        if not again:
            state.mark_failed(job, state.JOB_TIMEOUT, message, statuses=(RUNNING,), attempts=job.attempts)
        elif state.settle_interrupted(job, state.JOB_TIMEOUT, message) == QUEUED:
            db.session.refresh(job)
            entry["enqueued"] = send(job)
    return done


def reconcile(now: datetime | None = None, dry_run: bool = False) -> dict[str, Any]:
    """One pass of every rule; returns what was (or, with dry_run, would be) done."""
    settings = current_app.config["SETTINGS"]
    report: dict[str, Any] = {
        "dry_run": dry_run,
        "requeued": [],
        "recovered": [],
        "timed_out": [],
        "released": [],
        "errors": [],
    }
    try:
        redis_store.conn.ping()
    except RedisError as exc:
        report["errors"].append(f"redis unreachable ({type(exc).__name__}); nothing can be enqueued now")
        return report
    steps = (
        ("timed_out", lambda: fail_overdue(now=now, dry_run=dry_run)),
        ("recovered", lambda: recover_lost(now=now, dry_run=dry_run)),
        ("requeued", lambda: requeue_stale(settings.stale_queued_s, now=now, dry_run=dry_run)),
        ("released", lambda: release_held(dry_run=dry_run)),
    )
    for key, step in steps:
        try:
            report[key] = step()
        except RedisError as exc:
            db.session.rollback()
            report["errors"].append(f"{key}: redis failed mid-pass ({type(exc).__name__}: {exc})")
    changed = sum(len(report[k]) for k in ("requeued", "recovered", "timed_out", "released"))
    if changed or report["errors"]:
        log.warning(
            "reconcile pass",
            extra={
                "requeued": len(report["requeued"]),
                "recovered": len(report["recovered"]),
                "timed_out": len(report["timed_out"]),
                "released": len(report["released"]),
                "errors": report["errors"],
                "dry_run": dry_run,
            },
        )
    return report


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """Counts only, for logs, health and the periodic task's last-run record."""
    counts = {k: len(report[k]) for k in ("requeued", "recovered", "timed_out", "released")}
    return counts | {"errors": report["errors"]}
