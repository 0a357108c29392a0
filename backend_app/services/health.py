"""Health checks: what /health reports and what `flask jobs diagnose` builds on."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Callable

from flask import current_app
from rq import Worker
from sqlalchemy import func, select, text

from ..extensions import QUEUE_NAMES, db, get_queue, redis_store
from ..models import Job
from ..models.base import utcnow
from ..models.job import FAILED, QUEUED, RUNNING
from ..observability import QUEUE_DEPTH

# Other areas add checks here (storage, search index): name -> callable returning a dict
# with at least {"ok": bool}. A check that raises is reported as down with its error.
EXTRA_CHECKS: dict[str, Callable[[], dict[str, Any]]] = {}


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
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


def check_workers() -> dict[str, Any]:
    """Workers whose RQ heartbeat is fresh; zero live workers is a problem."""
    workers = Worker.all(connection=redis_store.conn)
    now = utcnow()
    alive = []
    for worker in workers:
        beat = worker.last_heartbeat
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=now.tzinfo)
        if beat is not None and now - beat < timedelta(seconds=120):
            alive.append({"name": worker.name, "queues": worker.queue_names(), "state": worker.get_state()})
    return {"ok": bool(alive), "alive": len(alive), "workers": alive}


def check_queues() -> dict[str, Any]:
    depths = {}
    for name in QUEUE_NAMES:
        depths[name] = get_queue(name).count
        QUEUE_DEPTH.labels(name).set(depths[name])
    return {"ok": True, "depth": depths}


def job_counts() -> dict[str, Any]:
    """Failed and stale jobs, from the rows (the truth)."""
    settings = current_app.config["SETTINGS"]
    now = utcnow()
    stale_queued_before = now - timedelta(seconds=settings.stale_queued_s)
    lost_before = now - timedelta(seconds=max(settings.job_heartbeat_s * 6, 60))
    count = lambda *where: db.session.execute(select(func.count()).select_from(Job).where(*where)).scalar()  # noqa: E731
    return {
        "ok": True,
        "failed": count(Job.status == FAILED),
        "stale_queued": count(Job.status == QUEUED, Job.created_at < stale_queued_before),
        "stale_running": count(Job.status == RUNNING, Job.heartbeat_at < lost_before),
    }


def full_report() -> tuple[bool, dict[str, Any]]:
    """Every check; healthy only when database, Redis and at least one worker are up."""
    checks = {
        "database": _timed(check_database),
        "redis": _timed(check_redis),
    }
    if checks["redis"]["ok"]:
        checks["workers"] = _timed(check_workers)
        checks["queues"] = _timed(check_queues)
    else:
        checks["workers"] = {"ok": False, "error": "redis unreachable"}
        checks["queues"] = {"ok": False, "error": "redis unreachable"}
    if checks["database"]["ok"]:
        checks["jobs"] = _timed(job_counts)
    for name, check in EXTRA_CHECKS.items():
        checks[name] = _timed(check)
    healthy = all(c.get("ok") for c in checks.values())
    return healthy, {"status": "healthy" if healthy else "degraded", "checks": checks}
