"""Runs one job row inside a worker: status, stage, progress, heartbeat and errors on the row.

Retries: a retryable ``JobFailure`` with attempts left puts the row back to ``queued`` and is
re-raised, so RQ's ``Retry`` (set at enqueue, exponential backoff) schedules the next run.
Everything else ends the row here: ``failed`` with its code, and RQ sees a finished job.
A hard time limit (RQ's job timeout) is ``JOB_TIMEOUT``: retryable for a resumable kind (a
batch: the next run does the rows not stored yet), final for the others. When RQ has to kill
the work horse from outside, ``on_horse_killed`` (in the worker) or the reconciler settles the
row instead, by the same rule (``state.settle_interrupted``); when that leaves the row finished,
RQ's own retry is called off, so RQ never schedules a run the row would refuse.
An owner's cancel is seen at the run's next progress report (``JobCanceled``): the run keeps
what it stored and stops.
"""

from __future__ import annotations

import contextvars
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from rq.exceptions import AbandonedJobError
from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from backend_app.extensions import db
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.models.job import CANCELED, COMPLETED, QUEUED, RUNNING
from backend_app.observability import bind_log_ids, log_ids
from backend_app.queue import kinds as registry
from backend_app.queue import state
from backend_app.queue.enqueue import release_for
from backend_app.queue.errors import JobCanceled, JobFailure

log = logging.getLogger(__name__)
_app: Flask | None = None


class Superseded(Exception):
    """Another run owns the row now (this one was declared lost); stop without writing."""


def bind(app: Flask) -> None:
    """The app jobs run in when RQ calls in without an app context (worker.py binds the one it built)."""
    global _app
    _app = app


@contextmanager
def app_context() -> Iterator[None]:
    """The worker's app context: the one worker.py pushed (its horses inherit it), or the bound app.

    Jobs are run by `python worker.py`, which builds the app and binds it here; the runner never
    builds one itself (the app factory sits above this layer). A bare `rq worker` has none."""
    if has_app_context():
        yield
        return
    if _app is None:
        raise RuntimeError("no Framewise app to run the job in: start workers with `python worker.py`")
    with _app.app_context():
        yield


class JobContext:
    """What a handler uses to report progress; also keeps the row's heartbeat fresh."""

    def __init__(self, job: Job):
        self.job = job
        self.attempt = job.attempts
        self.worker = job.worker_name  # with the attempt, what identifies this run of the row
        self.stage = job.stage
        self.timings: dict[str, float] = dict(job.timings or {})
        self._stage_started = time.perf_counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def progress(self, stage: str, percent: float) -> None:
        """Record stage and percent, committing whatever the handler staged in the session with them.

        Raises ``Superseded`` when this run no longer owns the row (nothing staged is written), and
        ``JobCanceled`` when its owner canceled it (what was staged is kept: the run stops after it)."""
        if stage != self.stage:
            self._close_stage()
            self.stage = stage
        values = {
            "stage": stage,
            "progress": max(0, min(100, int(percent))),
            "heartbeat_at": utcnow(),
            "timings": dict(self.timings),
        }
        held = state.report(self.job.id, attempt=self.attempt, worker=self.worker, **values)
        self._raise_unless_running(held)
        for key, value in values.items():
            set_committed_value(self.job, key, value)

    def check(self) -> None:
        """Between reports (a handler waiting on slow work): raise as ``progress`` would if the run
        was canceled or superseded."""
        self._raise_unless_running(state.holder_status(self.job.id, attempt=self.attempt, worker=self.worker))

    def _raise_unless_running(self, held: str | None) -> None:
        if held == CANCELED:
            raise JobCanceled(self.job.id)
        if held != RUNNING:
            raise Superseded(self.job.id)

    def _close_stage(self) -> None:
        now = time.perf_counter()
        if self.stage:
            self.timings[self.stage] = round(self.timings.get(self.stage, 0) + now - self._stage_started, 4)
        self._stage_started = now

    def finish_timings(self) -> dict[str, float]:
        self._close_stage()
        return dict(self.timings)

    def start_heartbeat(self, interval_s: float) -> None:
        app = current_app._get_current_object()
        job_id, attempt, worker = self.job.id, self.attempt, self.worker

        def beat() -> None:
            while not self._stop.wait(interval_s):
                try:
                    with app.app_context():
                        db.session.query(Job).filter(
                            Job.id == job_id, Job.status == RUNNING, Job.attempts == attempt, Job.worker_name == worker
                        ).update({Job.heartbeat_at: utcnow()}, synchronize_session=False)
                        db.session.commit()
                except Exception:  # a missed beat is harmless; the next one tries again
                    log.warning("heartbeat failed", extra={"job_id": job_id})

        self._thread = threading.Thread(  # with the job's log ids: a new thread starts without them
            target=contextvars.copy_context().run, args=(beat,), name=f"heartbeat-{job_id}", daemon=True
        )
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


def run_job(job_id: str) -> dict[str, Any] | None:
    """RQ entry point: run the row's handler once; safe to call again for the same id."""
    with log_ids(job_id), app_context():
        db.engine.dispose(close=False)  # a forked work horse must not reuse the parent's sockets
        try:
            row = db.session.get(Job, job_id)
            bind_log_ids(**(row.log_ids if row is not None else {}))  # every line of the run names its ids
            return _run(job_id)
        finally:
            _free_slot(job_id)


def _free_slot(job_id: str) -> None:
    """The run ended the row: the user's next held job takes its slot (fair scheduling)."""
    try:
        db.session.rollback()
        release_for(job_id)
    except Exception:  # the reconciler releases it on its next pass
        db.session.rollback()
        log.warning("could not release the user's next job", exc_info=True)


def _claim(job_id: str) -> Job | None:
    """Take the row for this run (queued, or running with a dead heartbeat); None when not ours."""
    job = db.session.get(Job, job_id)
    if job is None:
        log.warning("job row not found; nothing to do")
        return None
    if job.status not in (QUEUED, RUNNING):
        log.info("job is not runnable; skipping", extra={"status": job.status})
        return None
    settings = current_app.config["SETTINGS"]
    if (
        job.status == RUNNING
        and job.heartbeat_at
        and (utcnow() - job.heartbeat_at).total_seconds() < settings.job_lost_after_s
    ):
        log.warning("job is running elsewhere with a live heartbeat; skipping", extra={"worker": job.worker_name})
        return None
    attempt = (job.attempts or 0) + 1
    now = utcnow()
    claimed = state.transition(
        job_id,
        statuses=(job.status,),
        expect_attempts=job.attempts,
        status=RUNNING,
        stage="starting",
        progress=0,
        attempts=attempt,
        started_at=now,
        heartbeat_at=now,
        error_code=None,
        error_message=None,
        worker_name=f"{socket.gethostname()}:{os.getpid()}",
    )
    if not claimed:
        log.info("another run claimed the job first; skipping")
        return None
    db.session.expire(job)
    return job


def _run(job_id: str) -> dict[str, Any] | None:
    job = _claim(job_id)
    if job is None:
        done = db.session.get(Job, job_id)
        return done.result if done is not None and done.status == COMPLETED else None
    spec = registry.get(job.kind)
    settings = current_app.config["SETTINGS"]
    ctx = JobContext(job)
    ctx.start_heartbeat(settings.job_heartbeat_s)
    log.info("job started", extra={"kind": job.kind, "attempt": ctx.attempt})
    try:
        result = spec.load()(job, ctx)
    except Superseded:
        db.session.rollback()
        log.warning("job was taken over by another run; dropping this one's result")
        return None
    except JobCanceled:
        db.session.rollback()
        state.stopped(job.id, attempt=ctx.attempt, worker=ctx.worker, timings=ctx.finish_timings())
        log.info("job canceled by its owner; stopped", extra={"kind": job.kind, "attempt": ctx.attempt})
        return None
    except JobTimeoutException:
        _hold_time_limit()
        db.session.rollback()
        message = f"hard time limit of {spec.timeout_s()} s reached"
        if spec.resumable:
            message += "; the next attempt resumes where this one stopped"
        return _end(job, ctx, failure=JobFailure(state.JOB_TIMEOUT, message, retryable=spec.resumable))
    except JobFailure as failure:
        db.session.rollback()
        return _end(job, ctx, failure=failure)
    except (OperationalError, RedisError) as exc:  # the database or Redis blinked: worth another attempt
        db.session.rollback()
        log.warning("job stopped: database or Redis unavailable", exc_info=True)
        return _end(job, ctx, failure=JobFailure("INFRASTRUCTURE_UNAVAILABLE", _describe(exc), retryable=True))
    except Exception as exc:  # an unexpected bug: fail the row with its reason, keep the trace in logs
        db.session.rollback()
        log.exception("job crashed")
        _end(job, ctx, failure=JobFailure(state.INTERNAL_ERROR, _describe(exc)))
        return None
    finally:
        ctx.stop_heartbeat()
    return _end(job, ctx, result=result)


def _hold_time_limit() -> None:
    """The time limit is in hand: no repeat of it (workers.RepeatedTimeLimit) while the row is written.
    Only RQ's alarm is cancelled (a run in a test process leaves pytest-timeout's alone)."""
    if isinstance(getattr(signal.getsignal(signal.SIGALRM), "__self__", None), UnixSignalDeathPenalty):
        signal.alarm(0)


def _describe(exc: BaseException) -> str:
    """What the job's row (shown to its user) says about an unexpected exception: its kind, not
    its text, which can hold SQL with its parameters or the database's address; the trace is
    in the worker's log under the job id."""
    return (
        f"An unexpected {type(exc).__name__} stopped this attempt; the worker's log has the details "
        "under this job's id."
    )


def _end(job: Job, ctx: JobContext, *, result: Any = None, failure: JobFailure | None = None) -> Any:
    """Write the attempt's outcome, only if this run still owns the row."""
    timings = ctx.finish_timings()
    if failure is None:
        if state.transition(
            job.id,
            statuses=(RUNNING,),
            expect_attempts=ctx.attempt,
            expect_worker=ctx.worker,
            status=COMPLETED,
            stage="done",
            progress=100,
            result=result,
            finished_at=utcnow(),
            timings=timings,
        ):
            log.info("job completed", extra={"kind": job.kind, "timings": timings})
        else:
            log.warning("job finished but another run owns the row; result dropped")
        return result
    if not state.transition(
        job.id, statuses=(RUNNING,), expect_attempts=ctx.attempt, expect_worker=ctx.worker, timings=timings
    ):
        log.warning("job failed but another run owns the row; failure dropped", extra={"error_code": failure.code})
        return None
    if failure.retryable and state.attempts_left(job):
        if state.mark_queued(job, failure.code, failure.message, attempts=ctx.attempt):
            raise failure  # RQ's Retry schedules the next attempt with backoff
        return None
    state.mark_failed(job, failure.code, failure.message, statuses=(RUNNING,), attempts=ctx.attempt)
    return None


def on_rq_failure(rq_job, connection, exc_type, exc_value, traceback) -> None:
    """RQ failure callback: a run raised (retry) or was abandoned; the row must not stay running."""
    with app_context():
        job = db.session.get(Job, rq_job.id)
        if job is None or job.is_finished:
            rq_job.retries_left = 0  # nothing to run again (deleted, canceled or settled already)
            return
        if isinstance(exc_value, JobFailure):
            code, message = exc_value.code, exc_value.message
        elif isinstance(exc_value, JobTimeoutException):
            code, message = state.JOB_TIMEOUT, "hard time limit reached"
        elif isinstance(exc_value, AbandonedJobError):
            code, message = state.WORKER_LOST, "the worker running this job stopped"
        else:
            code, message = state.INTERNAL_ERROR, _describe(exc_value) if exc_value else "unknown failure"
        if job.status == QUEUED and rq_job.should_retry:
            return  # the runner already re-queued the row and RQ is about to schedule the retry
        _settle(rq_job, job, code, message)


def _settle(rq_job, job: Job, code: str, message: str) -> None:
    """Settle an attempt that ended outside the runner; RQ retries only a row that was re-queued.

    RQ's ``Retry`` would otherwise schedule a run the row no longer wants (failed at a time limit,
    or canceled), which the runner then skips as "not runnable". The caller is RQ's failure path,
    which reads ``rq_job.retries_left`` right after this hook returns."""
    if state.settle_interrupted(job, code, message) != QUEUED:
        rq_job.retries_left = 0
    _free_slot(job.id)


def on_horse_killed(rq_job, retpid, ret_val, rusage) -> None:
    """Worker hook: the work horse died (SIGKILL, OOM, or killed at the hard time limit)."""
    with app_context():
        job = db.session.get(Job, rq_job.id)
        if job is None or job.is_finished:
            rq_job.retries_left = 0  # nothing to run again (deleted, canceled or settled already)
            return
        elapsed = (utcnow() - rq_job.started_at).total_seconds() if rq_job.started_at else 0.0
        if rq_job.timeout and rq_job.timeout > 0 and elapsed >= rq_job.timeout:
            code, message = state.JOB_TIMEOUT, f"killed at the hard time limit of {rq_job.timeout} s"
        else:
            code, message = state.WORKER_LOST, f"work horse died (wait status {ret_val})"
        _settle(rq_job, job, code, message)
