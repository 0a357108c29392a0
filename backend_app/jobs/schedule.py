"""Periodic work every worker offers and exactly one does: the reconciler and the purge.

One small process per worker ticks once a second and, from START_DELAY_S after it starts, asks
for each task's Redis lock (SET NX with the interval as expiry): whoever wins runs the task. The
cadence is the lock's, kept in Redis, not any process's clock, so with many workers on many hosts
each task runs once per interval, keeps running when any one worker dies, and still runs when
workers restart more often than its interval (a process-local "an interval since I started"
would never come for the hourly purge on a fleet that deploys or reloads within the hour).
RQ 3's ``rq cron`` scheduler was considered: it is a separate process with no cluster-wide
de-duplication, so every host running one would repeat each task; this needs neither. The tasks,
and the last run of each (time, outcome, kept in Redis for `flask jobs diagnose`), are in
queue/periodic.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

from flask import Flask
from redis.exceptions import RedisError

from backend_app.extensions import redis_store
from backend_app.queue import kinds as registry
from backend_app.queue.periodic import LOCK_KEY, PERIODIC, record
from backend_app.settings import PROJECT_ROOT

START_DELAY_S = 2.0  # a (re)started worker's first go at the locks: it reconciles almost at once


def run_due(app: Flask, started: dict[str, float], now: float) -> None:
    """Run every task whose cluster-wide lock is free (the last run was an interval ago or more),
    once this process is START_DELAY_S old (``started`` holds when it first ticked)."""
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
            record(name, status, outcome)


def spawn(factory: str) -> subprocess.Popen:
    """Start this worker's periodic process (see ``main``) on the app ``factory`` ("module:name")
    builds; worker.py names its factory and stops the process on exit."""
    return subprocess.Popen(
        [sys.executable, "-m", "backend_app.jobs.schedule", "--parent", str(os.getpid()), "--app", factory],
        cwd=str(PROJECT_ROOT),
    )


def load_factory(spec: str) -> Callable[[], Flask]:
    """The app factory a "module:name" string names (as `flask --app` does): the entry point that
    starts this process chooses the app, this layer does not import the factory above it."""
    module, _, name = spec.partition(":")
    return getattr(import_module(module), name or "create_app")


def main(argv: list[str] | None = None) -> int:
    """The periodic process: one tick a second until its worker (``--parent``) is gone.

    It is a process of its own, not a thread of the worker, because RQ forks a work horse from
    the worker for every job: a fork taken while another thread holds a lock (SQLite's, a
    cached property's RLock) leaves that lock held forever in the horse, which then hangs.
    """
    argv = sys.argv[1:] if argv is None else argv
    if "--app" not in argv:
        print("usage: python -m backend_app.jobs.schedule --app MODULE:FACTORY [--parent PID]", file=sys.stderr)
        return 2
    parent = int(argv[argv.index("--parent") + 1]) if "--parent" in argv else None
    app = load_factory(argv[argv.index("--app") + 1])()
    registry.load_modules(app.config["SETTINGS"].job_modules)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    started: dict[str, float] = {}
    while parent is None or os.getppid() == parent:
        run_due(app, started, time.monotonic())
        time.sleep(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
