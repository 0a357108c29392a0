"""The worker's own HTTP health endpoint: ``/live`` and ``/ready`` on WORKER_HEALTH_PORT (0: none).

A stdlib ``http.server`` thread in the worker's parent process, no Flask: an orchestrator (compose,
Kubernetes) asks it whether this process is alive (``/live``: its queues, the job it runs, RQ's
last heartbeat) and whether it can work (``/ready``: Redis and the database answer; 503 if not).

RQ forks a work horse for every job. A fork taken while this thread holds a lock (a connection
pool's, SQLite's) would leave that lock held for ever in the horse, so the probes use their own
connections, with short timeouts, and hold FORK_LOCK, which the worker takes around its fork.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from backend_app.extensions import QUEUE_NAMES

log = logging.getLogger(__name__)
FORK_LOCK = threading.Lock()  # held by a probe, and by the worker while it forks a work horse
PROBE_TIMEOUT_S = 2


class WorkerStatus:
    """What the worker's loop tells the endpoint: the RQ worker it runs and the job it is on."""

    def __init__(self) -> None:
        self.worker: Any = None  # the current RQ worker (worker.py starts a new one after a crash)
        self.started_at = datetime.now(UTC)
        self._job: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def job_started(self, job_id: str, queue: str, kind: str | None, ids: dict[str, str]) -> None:
        job = {"id": job_id, "queue": queue, "kind": kind, "started_at": datetime.now(UTC).isoformat(), **ids}
        with self._lock:
            self._job = job

    def job_ended(self) -> None:
        with self._lock:
            self._job = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            job = dict(self._job) if self._job else None
        worker = self.worker
        beat = getattr(worker, "last_heartbeat", None)
        return {
            "pid": os.getpid(),
            "worker": getattr(worker, "name", None),
            "queues": list(QUEUE_NAMES),
            "state": "busy" if job else ("idle" if worker is not None else "starting"),
            "current_job": job,
            "last_heartbeat": beat.isoformat() if beat else None,
            "up_since": self.started_at.isoformat(),
        }


class Probes:
    """Redis and the database, each on a connection of its own (none of the worker's pools)."""

    def __init__(self, redis_url: str, database_url: str) -> None:
        self.redis = Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=PROBE_TIMEOUT_S)
        connect_args = {"timeout": PROBE_TIMEOUT_S} if database_url.startswith("sqlite") else {"connect_timeout": 2}
        self.engine = create_engine(database_url, poolclass=NullPool, connect_args=connect_args)

    def run(self) -> dict[str, dict[str, Any]]:
        with FORK_LOCK:
            return {"redis": _timed(self.redis.ping), "database": _timed(self._select_one)}

    def _select_one(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))


def _timed(check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
        result: dict[str, Any] = {"ok": True}
    except Exception as exc:  # any failure is "not reachable", said with its kind
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


class _Handler(BaseHTTPRequestHandler):
    server: HealthServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/live":
            self._send(200, {"status": "alive", **self.server.status.snapshot()})
        elif path == "/ready":
            checks = self.server.probes.run()
            ready = all(check["ok"] for check in checks.values())
            body = {"status": "ready" if ready else "not ready", "checks": checks, **self.server.status.snapshot()}
            self._send(200 if ready else 503, body)
        else:
            error = {"code": "NOT_FOUND", "message": "The worker answers /live and /ready.", "details": {}}
            self._send(404, {"error": error})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds are not worth a log line each."""


class HealthServer(HTTPServer):
    def __init__(self, address: tuple[str, int], status: WorkerStatus, probes: Probes) -> None:
        self.status, self.probes = status, probes
        super().__init__(address, _Handler)


def serve(settings, status: WorkerStatus) -> HealthServer | None:
    """Start the endpoint in a daemon thread; None when it is off (port 0) or the port is taken
    (the worker works without it; its health check then fails, which is what it should do)."""
    if not settings.worker_health_port:
        return None
    address = (settings.worker_health_host, settings.worker_health_port)
    try:
        server = HealthServer(address, status, Probes(settings.redis_url, settings.sqlalchemy_url))
    except OSError as exc:
        log.error(
            "worker health endpoint not started: %s:%s is not free (%s); set WORKER_HEALTH_PORT to a free "
            "port, or 0 for none",
            *address,
            exc.strerror,
        )
        return None
    threading.Thread(target=server.serve_forever, name="worker-health", daemon=True).start()
    log.info("worker health endpoint listening", extra={"url": f"http://{address[0]}:{server.server_port}/ready"})
    return server
