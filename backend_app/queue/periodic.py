"""The periodic tasks (the reconciler, the purge) and the record of their last runs.

jobs/schedule.py runs them, each once per interval across all workers; `flask jobs diagnose`
reads here when each last ran and how late that is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import select

from backend_app.extensions import db, redis_store
from backend_app.models import Job
from backend_app.models.base import iso, utcnow
from backend_app.models.job import QUEUED, RUNNING
from backend_app.queue.enqueue import submit
from backend_app.queue.reconcile import reconcile, summary

LOCK_KEY = "framewise:periodic:{}"
LAST_RUN_KEY = "framewise:periodic:{}:last"

Interval = Callable[[Any], float]  # settings -> seconds


def _reconcile(app: Flask) -> dict[str, Any]:
    return summary(reconcile())


def _enqueue_purge(app: Flask) -> dict[str, Any]:
    """Submit the purge job unless one is already waiting or running."""
    pending = db.session.execute(select(Job.id).where(Job.kind == "purge", Job.status.in_((QUEUED, RUNNING)))).first()
    if pending:
        return {"skipped": f"purge job {pending[0]} still pending"}
    return {"job_id": submit("purge", user_id=None).id}


# Each entry: (name, interval from settings, callable taking the app). Other areas may append.
PERIODIC: list[tuple[str, Interval, Callable[[Flask], Any]]] = [
    ("reconcile", lambda s: s.reconcile_interval_s, _reconcile),
    ("purge", lambda s: s.purge_interval_s, _enqueue_purge),
]


def record(name: str, status: str, outcome: Any) -> None:
    """Keep a task's last run (time, status, outcome) for a week; a Redis outage loses it."""
    try:
        redis_store.conn.set(
            LAST_RUN_KEY.format(name),
            json.dumps({"at": iso(utcnow()), "status": status, "outcome": outcome}, default=str),
            ex=7 * 86400,
        )
    except RedisError:
        pass


def last_runs() -> dict[str, Any]:
    """The last recorded run of each periodic task (None when it never ran)."""
    out = {}
    for name, _, _ in PERIODIC:
        raw = redis_store.conn.get(LAST_RUN_KEY.format(name))
        out[name] = json.loads(raw) if raw else None
    return out
