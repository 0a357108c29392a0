"""Structured logs (one JSON object a line) and Prometheus metrics."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)
# The ids a line is about (analysis_id, document_id, batch_id, user_id, session_id): bound by the request glue,
# the services that create them and the job runner, written on every log line of that request or job.
log_ids_var: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("log_ids", default=None)
LOG_IDS = ("analysis_id", "document_id", "batch_id", "user_id", "session_id")

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the request or job id attached."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if rid := request_id_var.get():
            entry["request_id"] = rid
        if jid := job_id_var.get():
            entry["job_id"] = jid
        if ids := log_ids_var.get():
            entry.update(ids)
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def bind_log_ids(**ids: Any) -> None:
    """Add ids (those of LOG_IDS that are set) to every later log line of this request or job."""
    found = {name: str(ids[name]) for name in LOG_IDS if ids.get(name)}
    if found:
        log_ids_var.set({**(log_ids_var.get() or {}), **found})


def bind_request_log_ids(**ids: Any) -> None:
    """``bind_log_ids`` in a request (what it started: its job's ids); nothing elsewhere, where
    no request ends to unbind them (the reconciler, the CLI)."""
    if has_request_context():
        bind_log_ids(**ids)


@contextlib.contextmanager
def log_ids(job_id: str | None = None, **ids: Any) -> Iterator[None]:
    """The job id and ids on every log line within the block (a job's run), unset after it."""
    tokens = (job_id_var.set(job_id or job_id_var.get()), log_ids_var.set(dict(log_ids_var.get() or {})))
    try:
        bind_log_ids(**ids)
        yield
    finally:
        job_id_var.reset(tokens[0])
        log_ids_var.reset(tokens[1])


def carrying_log_ids(initializer: Callable[[], Any] | None = None) -> Callable[[], None]:
    """A thread pool's initializer that gives its threads this thread's job id and log ids
    (a new thread starts with none), then runs ``initializer``."""
    job_id, ids = job_id_var.get(), log_ids_var.get()

    def start() -> None:
        job_id_var.set(job_id)
        log_ids_var.set(ids)
        if initializer is not None:
            initializer()

    return start


def configure_logging(level: str) -> None:
    """Route every logger through the JSON formatter on stderr, once per process."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("werkzeug", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel("WARNING")


def _registry() -> CollectorRegistry | None:
    # Under gunicorn with several workers, PROMETHEUS_MULTIPROC_DIR makes the counters shared.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return None


REQUESTS = Counter("framewise_http_requests_total", "HTTP requests", ["endpoint", "method", "status", "variant"])
LATENCY = Histogram(
    "framewise_http_request_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# "mostrecent": the value the last scrape measured, whichever process served it ("max" kept a dead
# or older process's higher depth for ever under gunicorn)
QUEUE_DEPTH = Gauge("framewise_queue_depth", "Jobs waiting in each RQ queue", ["queue"], multiprocess_mode="mostrecent")
_NOT_LOGGED = frozenset({"/ping", "/metrics"})  # probes and scrapes: counted, not logged
_SECRET_ARGS = ("token",)  # path parts that are a permission (signed storage links): never logged
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Set from the job rows at scrape time (the rows are the truth): a counter bumped where a job ends
# lived in RQ's work horse, whose samples die with it (workers keep no shared metrics directory).
JOBS = Gauge("framewise_jobs", "Job rows by kind and status", ["kind", "status"], multiprocess_mode="mostrecent")


def _loggable_path(req) -> str:
    """The request path with secret path arguments replaced by their name: a signed link in a
    log line would let whoever reads the logs use it until it expires."""
    path = req.path
    for name in _SECRET_ARGS:
        value = (req.view_args or {}).get(name)
        if value:
            path = path.replace(str(value), f"<{name}>")
    return path


def request_elapsed_s() -> float:
    """Seconds since the current request's first hook ran (0 outside a request)."""
    started = g.get("started") if has_request_context() else None
    return 0.0 if started is None else time.perf_counter() - started


def init_app(app: Flask) -> None:
    """Attach request ids, access logs and request metrics to every request."""
    access_log = logging.getLogger("framewise.access")

    # The hooks run on every request: each binds the request and g once (every access
    # through Flask's context proxies is a lookup of its own).
    @app.before_request
    def _start() -> None:
        state = g._get_current_object()
        state.started = time.perf_counter()
        rid = request.headers.get("X-Request-ID", "")[:64] or os.urandom(16).hex()
        state.request_id = rid
        state.request_id_token = request_id_var.set(rid)
        state.log_ids_token = log_ids_var.set(None)
        if args := request.view_args:  # what the URL names (/analyses/<analysis_id>…); user_id is who asks
            bind_log_ids(
                analysis_id=args.get("analysis_id"),
                document_id=args.get("document_id"),
                batch_id=args.get("batch_id"),
                session_id=args.get("session_id"),
            )

    # Labelled children by label values: prometheus_client validates and locks on every
    # labels() call; the set of label combinations is small and fixed per process.
    counters: dict[tuple[str, str, int, str], Any] = {}
    histograms: dict[str, Any] = {}

    @app.after_request
    def _finish(response: Response) -> Response:
        state, req = g._get_current_object(), request._get_current_object()
        elapsed = time.perf_counter() - getattr(state, "started", time.perf_counter())
        endpoint = req.url_rule.rule if req.url_rule else "<unmatched>"
        variant = response.headers.get("X-Variant", "")
        # Any token is a valid HTTP method: label unknown ones together so that clients
        # cannot grow the metric (and this cache) without bound.
        method = req.method if req.method in _METHODS else "OTHER"
        status = response.status_code
        key = (endpoint, method, status, variant)
        counter = counters.get(key) or counters.setdefault(key, REQUESTS.labels(endpoint, method, str(status), variant))
        counter.inc()
        histogram = histograms.get(endpoint) or histograms.setdefault(endpoint, LATENCY.labels(endpoint))
        histogram.observe(elapsed)
        response.headers["X-Request-ID"] = getattr(state, "request_id", "")
        if endpoint not in _NOT_LOGGED:
            access_log.info(
                "request",
                extra={
                    "method": req.method,
                    "path": _loggable_path(req),
                    "status": status,
                    "ms": round(elapsed * 1000, 2),
                    "variant": variant or None,
                },
            )
        return response

    @app.teardown_request
    def _reset(_exc) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id_var.reset(token)
        token = g.pop("log_ids_token", None)
        if token is not None:
            log_ids_var.reset(token)


def metrics_response() -> Response:
    """The Prometheus exposition of this process (or of all processes in multiprocess mode)."""
    registry = _registry()
    payload = generate_latest(registry) if registry else generate_latest()
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)
