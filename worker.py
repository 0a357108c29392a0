"""RQ worker for Framewise: queues video, llm and default, with RQ's scheduler.

Run `python worker.py` (or many of them, on many hosts). The worker builds the app once;
every job runs inside its app context. Each worker also starts a small periodic process
(reconciler, purge: backend_app/jobs/schedule.py); a Redis lock lets one of them run each.
"""

from __future__ import annotations

import logging
import sys

from backend_app import create_app
from backend_app.extensions import QUEUE_NAMES, redis_store


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    burst = "--burst" in argv
    app = create_app()
    with app.app_context():
        from backend_app.jobs import registry, schedule
        from backend_app.jobs.workers import make_worker

        registry.load_modules(app.config["SETTINGS"].job_modules)
        registry.preload()
        worker = make_worker(redis_store.conn)
        periodic = schedule.spawn()
        logging.getLogger("framewise.worker").info("worker starting", extra={"queues": list(QUEUE_NAMES)})
        try:
            worker.work(with_scheduler=True, burst=burst, logging_level=app.config["SETTINGS"].log_level)
        finally:
            periodic.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
