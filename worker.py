"""RQ worker for Framewise: queues video, llm and default, with RQ's scheduler.

Run `python worker.py` (or many of them, on many hosts). The worker builds the app once;
every job runs inside its app context. Each worker also starts a small periodic process
(reconciler, purge: backend_app/jobs/schedule.py); a Redis lock lets one of them run each.

RQ's loop ends on an error it did not expect, such as Redis going away for longer than one
heartbeat while a job runs. The process does not end with it: it waits for Redis (backing off
up to RESTART_MAX_WAIT_S; a loop that fails again at once waits longer each time) and starts a
new loop, so a Redis restart or failover does not leave the queues without workers.
SIGTERM/SIGINT stop it as RQ does (warm, then cold). Its health endpoint (/live, /ready on
WORKER_HEALTH_PORT) is backend_app/jobs/health.py.
"""

from __future__ import annotations

import logging
import signal
import sys
import time

from redis.exceptions import RedisError

from backend_app import create_app
from backend_app.extensions import QUEUE_NAMES, redis_store
from backend_app.jobs import health, runner, schedule
from backend_app.jobs.workers import make_worker, preload
from backend_app.queue import kinds as registry
from backend_app.settings import SettingsError

RESTART_MAX_WAIT_S = 30.0
FACTORY = "backend_app:create_app"  # what the periodic process builds its app with (jobs/schedule.py)
log = logging.getLogger("framewise.worker")


def build_app():
    """The worker's app: the same factory as the web's, so the same hooks, kinds and settings."""
    app = create_app()
    runner.bind(app)
    return app


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    burst = "--burst" in argv
    try:
        app = build_app()
    except SettingsError as exc:
        print(f"Framewise worker cannot start: {exc}", file=sys.stderr)
        return 2
    with app.app_context():
        registry.load_modules(app.config["SETTINGS"].job_modules)
        preload(app.config["SETTINGS"])
        periodic = schedule.spawn(FACTORY)
        status = health.WorkerStatus()
        endpoint = health.serve(app.config["SETTINGS"], status)
        try:
            serve(burst, app.config["SETTINGS"].log_level, status)
        finally:
            periodic.terminate()
            if endpoint is not None:
                endpoint.shutdown()
    return 0


def serve(burst: bool, log_level: str, status: health.WorkerStatus | None = None) -> None:
    """RQ's work loop, started again after it ends on an error, until a signal or the burst ends it."""
    pause = 1.0
    while True:
        try:
            worker = make_worker(redis_store.conn, status)
        except RedisError as exc:  # Redis is not up yet (or is down): wait for it, /ready says why meanwhile
            log.warning("redis unreachable; the worker starts when it answers", extra={"error": str(exc)})
            if burst or not _wait_for_redis(pause):
                return
            continue
        log.info("worker starting", extra={"queues": list(QUEUE_NAMES)})
        started = time.monotonic()
        try:
            worker.work(with_scheduler=True, burst=burst, logging_level=log_level)
        except RedisError:  # RQ's clean-up after the error needs Redis too, and raises without it
            log.warning("the worker loop's clean-up could not reach Redis", exc_info=True)
        if burst or worker.stop_requested_by_signal:
            return
        log.error("the worker loop ended on an error; starting a new one once Redis answers")
        # A loop that keeps failing at once (not Redis: a bug) is restarted less and less often.
        pause = 1.0 if time.monotonic() - started > RESTART_MAX_WAIT_S else min(pause * 2, RESTART_MAX_WAIT_S)
        if not _wait_for_redis(pause):
            return


def _wait_for_redis(pause: float) -> bool:
    """Wait ``pause``, then back off until Redis answers (True), or until a stop signal (False)."""
    stopping: list[int] = []
    handlers = {
        sig: signal.signal(sig, lambda signum, _frame: stopping.append(signum))
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        delay = pause
        while True:
            deadline = time.monotonic() + delay
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.1)
            if stopping:
                return False
            try:
                redis_store.conn.ping()
                return True
            except RedisError:
                delay = min(delay * 2, RESTART_MAX_WAIT_S)
                log.warning(
                    "redis unreachable; the worker loop starts again when it answers", extra={"retry_in_s": delay}
                )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
