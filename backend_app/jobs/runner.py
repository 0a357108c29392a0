"""Runs one job row inside a worker: status, stage, progress, heartbeat and errors on the row."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from flask import current_app, has_app_context

from ..extensions import db
from ..models import Job
from ..models.base import utcnow
from ..models.job import COMPLETED, FAILED, FINISHED, RUNNING
from ..observability import JOBS, job_id_var
from . import registry
from .errors import JobFailure

log = logging.getLogger(__name__)
_app = None


@contextmanager
def app_context() -> Iterator[None]:
    """The worker's app context (worker.py pushes one; a bare `rq worker` gets one here)."""
    global _app
    if has_app_context():
        yield
        return
    if _app is None:
        from .. import create_app

        _app = create_app()
    with _app.app_context():
        yield


class JobContext:
    """What a handler uses to report progress; also keeps the row's heartbeat fresh."""

    def __init__(self, job: Job):
        self.job = job
        self._stage_started = time.perf_counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def progress(self, stage: str, percent: float) -> None:
        job = self.job
        if stage != job.stage:
            self._close_stage()
            job.stage = stage
        job.progress = max(0, min(100, int(percent)))
        job.heartbeat_at = utcnow()
        db.session.commit()

    def _close_stage(self) -> None:
        now = time.perf_counter()
        if self.job.stage:
            timings = dict(self.job.timings or {})
            timings[self.job.stage] = round(timings.get(self.job.stage, 0) + now - self._stage_started, 4)
            self.job.timings = timings
        self._stage_started = now

    def finish_timings(self) -> None:
        self._close_stage()

    def start_heartbeat(self, interval_s: float) -> None:
        app = current_app._get_current_object()
        job_id = self.job.id

        def beat() -> None:
            while not self._stop.wait(interval_s):
                try:
                    with app.app_context():
                        db.session.query(Job).filter(Job.id == job_id, Job.status == RUNNING).update(
                            {Job.heartbeat_at: utcnow()}, synchronize_session=False)
                        db.session.commit()
                except Exception:  # a missed beat is harmless; the next one tries again
                    log.warning("heartbeat failed", extra={"job_id": job_id})

        self._thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


def run_job(job_id: str) -> dict[str, Any] | None:
    """RQ entry point: run the row's handler once; safe to call again for the same id."""
    token = job_id_var.set(job_id)
    try:
        with app_context():
            db.engine.dispose(close=False)  # a forked work horse must not reuse the parent's sockets
            return _run(job_id)
    finally:
        job_id_var.reset(token)


def _run(job_id: str) -> dict[str, Any] | None:
    job = db.session.get(Job, job_id)
    if job is None:
        log.warning("job row not found; nothing to do")
        return None
    if job.status in FINISHED:
        log.info("job already finished; skipping", extra={"status": job.status})
        return job.result
    spec = registry.get(job.kind)
    settings = current_app.config["SETTINGS"]
    job.status, job.stage, job.progress = RUNNING, "starting", 0
    job.attempts = (job.attempts or 0) + 1
    job.started_at = job.heartbeat_at = utcnow()
    job.error_code = job.error_message = None
    job.worker_name = f"{socket.gethostname()}:{os.getpid()}"
    db.session.commit()
    ctx = JobContext(job)
    ctx.start_heartbeat(settings.job_heartbeat_s)
    log.info("job started", extra={"kind": job.kind, "attempt": job.attempts})
    try:
        result = spec.load()(job, ctx)
    except JobFailure as failure:
        db.session.rollback()
        ctx.finish_timings()
        if failure.retryable and job.attempts < settings.job_max_attempts:
            _mark_retry(job, failure)
            raise
        _mark_failed(job, failure.code, failure.message)
        return None
    except Exception as exc:  # an unexpected bug: fail the row with its reason, keep the trace in logs
        db.session.rollback()
        log.exception("job crashed")
        ctx.finish_timings()
        _mark_failed(job, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"[:2000])
        return None
    finally:
        ctx.stop_heartbeat()
    ctx.finish_timings()
    job.status, job.stage, job.progress = COMPLETED, "done", 100
    job.result = result
    job.finished_at = utcnow()
    db.session.commit()
    JOBS.labels(job.kind, COMPLETED).inc()
    log.info("job completed", extra={"kind": job.kind, "timings": job.timings})
    return result


def _mark_failed(job: Job, code: str, message: str) -> None:
    job.status, job.error_code, job.error_message = FAILED, code, message
    job.finished_at = utcnow()
    db.session.commit()
    JOBS.labels(job.kind, FAILED).inc()
    log.warning("job failed", extra={"kind": job.kind, "error_code": code, "error": message})


def _mark_retry(job: Job, failure: JobFailure) -> None:
    from ..models.job import QUEUED

    job.status, job.error_code, job.error_message = QUEUED, failure.code, failure.message
    db.session.commit()
    log.warning("job will be retried", extra={"kind": job.kind, "error_code": failure.code})
