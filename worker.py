"""RQ worker for Framewise: queues video, llm and default, with RQ's scheduler.

Run `python worker.py` (or many of them, on many hosts). The worker builds the app once;
every job runs inside its app context.
"""

from __future__ import annotations

import logging
import sys

from rq import Worker

from backend_app import create_app
from backend_app.extensions import QUEUE_NAMES, get_queue, redis_store


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    burst = "--burst" in argv
    app = create_app()
    with app.app_context():
        from backend_app.jobs import schedule

        connection = redis_store.conn
        queues = [get_queue(name, connection) for name in QUEUE_NAMES]
        worker = Worker(queues, connection=connection)
        schedule.install(app, worker)
        logging.getLogger("framewise.worker").info("worker starting", extra={"queues": list(QUEUE_NAMES)})
        worker.work(with_scheduler=True, burst=burst, logging_level=app.config["SETTINGS"].log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
