"""Periodic work the worker runs on its own (the reconciler and maintenance hook in here)."""

from __future__ import annotations

from flask import Flask
from rq import Worker

# Each entry: (name, interval seconds, callable taking the app). The reconciler registers here.
PERIODIC: list[tuple[str, int, object]] = []


def install(app: Flask, worker: Worker) -> None:
    """Start a daemon thread per periodic task; each runs under a Redis lock so one worker does it."""
    import threading

    from ..extensions import redis_store

    for name, interval, func in PERIODIC:
        def loop(name=name, interval=interval, func=func) -> None:
            stop = threading.Event()
            while not stop.wait(interval):
                with app.app_context():
                    lock = redis_store.conn.lock(f"framewise:periodic:{name}", timeout=interval, blocking=False)
                    try:
                        if lock.acquire(blocking=False):
                            func(app)
                    except Exception:
                        app.logger.exception("periodic task failed", extra={"task": name})

        threading.Thread(target=loop, name=f"periodic-{name}", daemon=True).start()
