"""Periodic work every worker offers and exactly one does: the reconciler and the purge.

One small process per worker ticks once a second and, from START_DELAY_S after it starts, asks
for each task's Redis lock (SET NX with the interval as expiry): whoever wins runs the task. The
cadence is the lock's, kept in Redis, not any process's clock, so with many workers on many hosts
each task runs once per interval, keeps running when any one worker dies, and still runs when
workers restart more often than its interval (a process-local "an interval since I started"
would never come for the hourly purge on a fleet that deploys or reloads within the hour).
RQ 3's ``rq cron`` scheduler was considered: it is a separate process with no cluster-wide
de-duplication, so every host running one would repeat each task; this needs neither. The last
run of each task (time, outcome) is kept in Redis for `flask jobs diagnose`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from redis.exceptions import RedisError

from backend_app.models.base import iso, utcnow

LOCK_KEY = "framewise:periodic:{}"
LAST_RUN_KEY = "framewise:periodic:{}:last"
START_DELAY_S = 2.0  # a (re)started worker's first go at the locks: it reconciles almost at once

Interval = Callable[[Any], float]  # settings -> seconds


def _reconcile(app: Flask) -> dict[str, Any]:
    from backend_app.queue.reconcile import reconcile, summary

    return summary(reconcile())


def _enqueue_purge(app: Flask) -> dict[str, Any]:
    """Submit the purge job unless one is already waiting or running."""
    from sqlalchemy import select

    from backend_app.extensions import db
    from backend_app.models import Job
    from backend_app.models.job import QUEUED, RUNNING
    from backend_app.queue.enqueue import submit

    pending = db.session.execute(select(Job.id).where(Job.kind == "purge", Job.status.in_((QUEUED, RUNNING)))).first()
    if pending:
        return {"skipped": f"purge job {pending[0]} still pending"}
    return {"job_id": submit("purge", user_id=None).id}


# Each entry: (name, interval from settings, callable taking the app). Other areas may append.
PERIODIC: list[tuple[str, Interval, Callable[[Flask], Any]]] = [
    ("reconcile", lambda s: s.reconcile_interval_s, _reconcile),
    ("purge", lambda s: s.purge_interval_s, _enqueue_purge),
]


def run_due(app: Flask, started: dict[str, float], now: float) -> None:
    """Run every task whose cluster-wide lock is free (the last run was an interval ago or more),
    once this process is START_DELAY_S old (``started`` holds when it first ticked)."""
    from backend_app.extensions import redis_store

    settings = app.config["SETTINGS"]
    if now - started.setdefault("process", now) < START_DELAY_S:
        return
    for name, interval_of, func in PERIODIC:
        interval = max(float(interval_of(settings)), 1.0)
        with app.app_context():
            try:
                if not redis_store.conn.set(LOCK_KEY.format(name), "1", nx=True, px=int(interval * 1000) - 100):
                    continue
                outcome: Any = func(app)
                status = "ok"
            except RedisError as exc:
                app.logger.warning("periodic task skipped: redis unavailable", extra={"task": name, "error": str(exc)})
                continue
            except Exception as exc:
                app.logger.exception("periodic task failed", extra={"task": name})
                outcome, status = f"{type(exc).__name__}: {exc}", "error"
            _record(name, status, outcome)


def _record(name: str, status: str, outcome: Any) -> None:
    from backend_app.extensions import redis_store

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
    from backend_app.extensions import redis_store

    out = {}
    for name, _, _ in PERIODIC:
        raw = redis_store.conn.get(LAST_RUN_KEY.format(name))
        out[name] = json.loads(raw) if raw else None
    return out


def spawn() -> subprocess.Popen:
    """Start this worker's periodic process (see ``main``); worker.py stops it on exit."""
    from backend_app.settings import PROJECT_ROOT

    return subprocess.Popen(
        [sys.executable, "-m", "backend_app.jobs.schedule", "--parent", str(os.getpid())], cwd=str(PROJECT_ROOT)
    )


def main(argv: list[str] | None = None) -> int:
    """The periodic process: one tick a second until its worker (``--parent``) is gone.

    It is a process of its own, not a thread of the worker, because RQ forks a work horse from
    the worker for every job: a fork taken while another thread holds a lock (SQLite's, a
    cached property's RLock) leaves that lock held forever in the horse, which then hangs.
    """
    argv = sys.argv[1:] if argv is None else argv
    parent = int(argv[argv.index("--parent") + 1]) if "--parent" in argv else None
    from backend_app import create_app
    from backend_app.queue import kinds as registry

    app = create_app()
    registry.load_modules(app.config["SETTINGS"].job_modules)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started: dict[str, float] = {}
    while parent is None or os.getppid() == parent:
        run_due(app, started, time.monotonic())
        time.sleep(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
