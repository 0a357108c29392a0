"""Health checks: what /health reports and what `flask jobs diagnose` builds on.

The checks are hooks (``services/hooks.py``): the core ones are registered here, features add
their own (``storage``, from ``services/video/hooks.py``). A check that raises is reported as
down with its error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select, text

from backend_app.extensions import QUEUE_NAMES, db, get_queue, redis_store
from backend_app.models import Job
from backend_app.models.job import FAILED, QUEUED, RUNNING, STATUSES
from backend_app.observability import JOBS, QUEUE_DEPTH
from backend_app.queue.kinds import KINDS
from backend_app.queue.reconcile import silent_running, stale_queued
from backend_app.queue.workers import live_workers
from backend_app.services import ai, flags, hooks
from backend_app.services.hooks import HealthCheck
from backend_app.services.video import analysers

REDIS_DOWN = {"ok": False, "error": "redis unreachable"}


def timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def check_database() -> dict[str, Any]:
    db.session.execute(text("SELECT 1"))
    return {"ok": True, "dialect": db.engine.dialect.name}


def check_redis() -> dict[str, Any]:
    redis_store.conn.ping()
    return {"ok": True}


def check_ai() -> dict[str, Any]:
    """The AI provider: never failing health (offline answers still work), saying what is true:
    the model endpoint's reachability, latency and last error."""
    from_endpoint = ai.endpoint_status()
    return {"ok": True, **from_endpoint}


def check_analysers() -> dict[str, Any]:
    """The AI analysers: each one's state (ready, disabled, not_installed with the file that
    installs it). Never failing health: a missing analyser is skipped, the analysis goes on."""
    rows = analysers.statuses(current_app.config["SETTINGS"])
    return {"ok": True, "analysers": rows}


def check_workers() -> dict[str, Any]:
    """Workers whose RQ heartbeat is fresh (an idle worker beats every WORKER_TTL_S - 15 s); none is a problem."""
    alive = [
        {"name": w.name, "queues": w.queue_names(), "state": w.get_state()} for w in live_workers(redis_store.conn)
    ]
    return {"ok": bool(alive), "alive": len(alive), "workers": alive}


def check_queues() -> dict[str, Any]:
    depths = {}
    for name in QUEUE_NAMES:
        depths[name] = get_queue(name).count
        QUEUE_DEPTH.labels(name).set(depths[name])
    return {"ok": True, "depth": depths}


def count_job_rows() -> None:
    """Refresh the framewise_jobs gauge from the job rows (called at scrape time).

    Every registered kind has every status, 0 when no row has it: a pair that drops to no rows
    (a purge, the last failed job retried) reads 0, not its last count, so alerts on it clear.
    """
    counts = {(kind, status): 0 for kind in KINDS for status in STATUSES}
    for kind, status, count in db.session.execute(
        select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
    ).all():
        counts[(kind, status)] = count
    for (kind, status), count in counts.items():
        JOBS.labels(kind, status).set(count)


def job_counts() -> dict[str, Any]:
    """Failed and stale jobs, from the rows (the truth); stale ones make the check fail.

    Stale means what the reconciler acts on: queued longer than STALE_QUEUED_S, or running
    without a heartbeat for JOB_LOST_AFTER_S. Failed jobs are the dead-letter list: counted by
    code, but they do not make the system unhealthy.
    """
    settings = current_app.config["SETTINGS"]
    stale_q, stale_r = len(stale_queued(settings.stale_queued_s)), len(silent_running())
    by_code = db.session.execute(
        select(Job.error_code, func.count()).where(Job.status == FAILED).group_by(Job.error_code)
    ).all()
    failed_by_code = {code or "UNKNOWN": n for code, n in by_code}
    return {
        "ok": stale_q == 0 and stale_r == 0,
        "failed": sum(failed_by_code.values()),
        "failed_by_code": failed_by_code,
        "stale_queued": stale_q,
        "stale_running": stale_r,
        "queued": db.session.execute(select(func.count()).select_from(Job).where(Job.status == QUEUED)).scalar(),
        "running": db.session.execute(select(func.count()).select_from(Job).where(Job.status == RUNNING)).scalar(),
    }


def flag_states() -> dict[str, Any]:
    """Each flag's state as this process serves it, with the operator pins ("pinned by environment");
    informative: it never makes the report unhealthy."""
    from_env = {}
    report = {}
    for key, view in sorted(flags.snapshot().items()):
        pinned = flags.pinned_by_environment(key)
        report[key] = {
            "enabled": view.enabled,
            "rollout_percent": view.rollout_percent,
            "pinned_by_environment": pinned,
        }
        if pinned:
            from_env[key] = flags.pins.describe(flags.pins.pins(current_app.config["SETTINGS"], key))
    return {"ok": True, "flags": report, "pinned": from_env}


def init_app(app: Flask) -> None:
    """The core checks, first in /health: database, Redis, workers and queues (when Redis
    answers), job rows (when the database does)."""
    hooks.of(app).health.extend(
        [
            HealthCheck("database", check_database),
            HealthCheck("redis", check_redis),
            HealthCheck("workers", check_workers, needs="redis", unmet=REDIS_DOWN),
            HealthCheck("queues", check_queues, needs="redis", unmet=REDIS_DOWN),
            HealthCheck("jobs", job_counts, needs="database"),
            HealthCheck("flags", flag_states, needs="database"),
            HealthCheck("ai", check_ai, needs="redis", unmet=REDIS_DOWN | {"ok": True}),
            HealthCheck("analysers", check_analysers),
        ]
    )


def full_report() -> tuple[bool, dict[str, Any]]:
    """Every registered check, in order; healthy only when all pass (database, Redis, a worker…)."""
    checks: dict[str, dict[str, Any]] = {}
    for check in hooks.current().health:
        if check.needs and not checks.get(check.needs, {}).get("ok"):
            if check.unmet is not None:
                checks[check.name] = dict(check.unmet)
            continue
        checks[check.name] = timed(check.run)
    healthy = all(c.get("ok") for c in checks.values())
    return healthy, {"status": "healthy" if healthy else "degraded", "checks": checks}
