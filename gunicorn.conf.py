"""gunicorn settings for `make run` and bench/api.py (read automatically from the working dir).

Threaded workers keep Server-Sent Events (chat, batch progress) from blocking a process.
The Docker image passes its own flags on the command line, which take precedence.
"""

import json
import os
import sys

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

# Two processes per core, capped: Python threads share one interpreter lock, so a second
# process per core keeps the cores busy while a request waits on SQLite, Redis or the
# client (bench/api.py: 2 workers x 8 threads served an authenticated list at 200 req/s
# with p99 172 ms; 4 x 4 on the same 2 cores at 557 req/s with p99 46 ms). Threads keep
# long-lived Server-Sent Events streams from blocking a process; workers x threads is the
# number of requests served at once. Override with GUNICORN_CMD_ARGS="--workers N".
workers = min(max(2 * len(os.sched_getaffinity(0)), 2), 8)
threads = 4
timeout = 120
# What gunicorn reads before the app sees a request (its defaults, written down): a request
# line of at most 4094 bytes, at most 100 header fields of at most 8190 bytes each. Past them
# gunicorn answers itself (414, 431; a malformed request 400) -- in the app's JSON error shape,
# through JsonErrorWorker below. Raise them with GUNICORN_CMD_ARGS, e.g. "--limit-request-line 8190".
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
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

# Codes for the answers gunicorn gives by itself, before the app sees the request.
_CODES = {
    400: "BAD_REQUEST",
    403: "FORBIDDEN",
    414: "URI_TOO_LONG",
    417: "EXPECTATION_FAILED",
    431: "HEADERS_TOO_LARGE",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
}


class _Captured:
    """The client socket as gunicorn's error writer sees it: what it sends is kept, not sent."""

    def __init__(self, sock) -> None:
        self.sock, self.sent = sock, b""

    def gettimeout(self) -> float:
        return 0.0  # so the writer does not toggle blocking mode on the real socket

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def __getattr__(self, name):
        return getattr(self.sock, name)


class JsonErrorWorker(ThreadWorker):
    """gunicorn's threaded worker, answering its own refusals (an over-long URL or headers, a
    malformed request) in the app's error shape: {"error": {"code", "message", "details"}}.

    gunicorn decides the status and logs as always; only the HTML page it would send is replaced.
    """

    def handle_error(self, req, client, addr, exc) -> None:
        captured = _Captured(client)
        super().handle_error(req, captured, addr, exc)
        status_line = captured.sent.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        if len(status_line) < 3 or not status_line[1].isdigit():
            return
        status, reason = int(status_line[1]), status_line[2]
        body = json.dumps({"error": self._error(status, reason, exc)}).encode()
        head = (
            f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        try:
            util.write_nonblock(client, head.encode("latin-1") + body)
        except Exception:
            self.log.debug("Failed to send error message.")

    def _error(self, status: int, reason: str, exc: Exception) -> dict:
        if isinstance(exc, LimitRequestLine):
            limit = self.cfg.limit_request_line
            message = f"The address is too long: the request line may be at most {limit} bytes."
            return {"code": "URI_TOO_LONG", "message": message, "details": {"max_request_line_bytes": limit}}
        if isinstance(exc, LimitRequestHeaders):
            fields, size = self.cfg.limit_request_fields, self.cfg.limit_request_field_size
            message = f"The request headers are too large: at most {fields} headers of at most {size} bytes each."
            details = {"max_header_fields": fields, "max_header_field_bytes": size}
            return {"code": "HEADERS_TOO_LARGE", "message": message, "details": details}
        if status >= 500:
            return {"code": _CODES.get(status, "INTERNAL_ERROR"), "message": f"{reason}.", "details": {}}
        return {"code": _CODES.get(status, "BAD_REQUEST"), "message": f"{reason}: {exc}", "details": {}}


worker_class = JsonErrorWorker
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
