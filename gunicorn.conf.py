"""gunicorn settings for `make run` and bench/api.py (read automatically from the working dir).

Threaded workers keep Server-Sent Events (chat, batch progress) from blocking a process.
The Docker image passes its own flags on the command line, which take precedence.
"""

import os
import sys

from gunicorn.glogging import Logger

# Two processes per core, capped: Python threads share one interpreter lock, so a second
# process per core keeps the cores busy while a request waits on SQLite, Redis or the
# client (bench/api.py: 2 workers x 8 threads served an authenticated list at 200 req/s
# with p99 172 ms; 4 x 4 on the same 2 cores at 557 req/s with p99 46 ms). Threads keep
# long-lived Server-Sent Events streams from blocking a process; workers x threads is the
# number of requests served at once. Override with GUNICORN_CMD_ARGS="--workers N".
workers = min(max(2 * len(os.sched_getaffinity(0)), 2), 8)
threads = 4
worker_class = "gthread"
timeout = 120
# No gunicorn access log: the app writes one structured JSON line per request (with its id).
# Setting `accesslog = None` is not enough: any logging config (logconfig_dict below) switches
# gunicorn's access log on, which repeated every request's line and cost each request the work
# of building it. The logger class below never writes it.
accesslog = None
# gunicorn's own lines ("Booting worker", "Connection in use") as the app's: one JSON object a line.
# The formatter is the app's, importable whatever the working directory (bench/api.py serves its
# bare baseline app from a temp directory with this file).
if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "backend_app.observability.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
}


class AppLogger(Logger):
    """gunicorn's logger, minus its access log (the app writes its own, see above)."""

    def access(self, resp, req, environ, request_time) -> None:
        return None


logger_class = AppLogger
# The control socket (~/.gunicorn/gunicorn.ctl) is one path per user: several local instances
# (make run, tests, bench) would fight over it, and nothing here uses it.
control_socket_disable = True


def child_exit(_server, worker) -> None:
    """With PROMETHEUS_MULTIPROC_DIR (make run, Docker), drop a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_starting(_server) -> None:
    """Counters start from zero with the server: drop metric files a previous run left behind."""
    from pathlib import Path

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and Path(directory).is_dir():
        for leftover in Path(directory).glob("*.db"):
            leftover.unlink(missing_ok=True)


def post_worker_init(worker) -> None:
    """Load what the first requests would wait for, then move everything the app allocated at
    start-up out of the garbage collector's view.

    With AI_PROVIDER=openai the openai SDK is imported here (~0.75 s of CPU that each worker's
    first chat answer waited for; with the offline provider nothing loads it). The loaded app
    (routes, models, templates, library modules) is hundreds of thousands of long-lived objects
    that every full collection would walk again, mid-request.
    """
    import gc

    settings = getattr(worker.wsgi, "config", {}).get("SETTINGS")  # bench/api.py's bare app has none
    if settings is not None:
        from backend_app.adapters import llm

        llm.warm(settings)
    gc.collect()
    gc.freeze()
