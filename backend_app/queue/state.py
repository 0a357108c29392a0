"""Row transitions that several processes race for, written as compare-and-set updates.

A job row can be touched by its work horse, the worker that forked it (horse killed), RQ's
failure callback, the reconciler in another worker and an admin retry. Each transition
names the state it expects (status and attempt number); when another process got there
first the update matches no row and the caller backs off. That is what makes "completed
exactly once" hold when a lost job is re-run while its old run turns out to be alive.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import current_app

from backend_app.extensions import db
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.models.job import FAILED, QUEUED, RUNNING

log = logging.getLogger(__name__)

WORKER_LOST = "WORKER_LOST"
JOB_TIMEOUT = "JOB_TIMEOUT"
INTERNAL_ERROR = "INTERNAL_ERROR"


def transition(
    job_id: str,
    *,
    statuses: Iterable[str],
    expect_attempts: int | None = None,
    expect_worker: str | None = None,
    **values: Any,
) -> bool:
    """Set ``values`` on the row if it is still in one of ``statuses`` (and at ``expect_attempts``,
    run by ``expect_worker``: a retried job starts again at attempt 1, its run has a new worker)."""
    query = db.session.query(Job).filter(Job.id == job_id, Job.status.in_(tuple(statuses)))
    if expect_attempts is not None:
        query = query.filter(Job.attempts == expect_attempts)
    if expect_worker is not None:
        query = query.filter(Job.worker_name == expect_worker)
    changed = query.update({getattr(Job, k): v for k, v in values.items()}, synchronize_session=False)
    db.session.commit()
    return changed == 1


def mark_failed(
    job: Job, code: str, message: str, *, statuses: Iterable[str] = (QUEUED, RUNNING), attempts: int | None = None
) -> bool:
    """Fail the row with a stable code (it lands in the dead-letter list)."""
    ok = transition(
        job.id,
        statuses=statuses,
        expect_attempts=attempts,
        status=FAILED,
        error_code=code,
        error_message=(message or code)[:2000],
        finished_at=utcnow(),
    )
    if ok:
        log.warning("job failed", extra={"job_id": job.id, "kind": job.kind, "error_code": code, "error": message})
    return ok


def mark_queued(
    job: Job,
    code: str | None,
    message: str | None,
    *,
    statuses: Iterable[str] = (RUNNING,),
    attempts: int | None = None,
) -> bool:
    """Put the row back to ``queued`` keeping the last error; its attempt stays counted."""
    ok = transition(
        job.id,
        statuses=statuses,
        expect_attempts=attempts,
        status=QUEUED,
        stage=None,
        error_code=code,
        error_message=(message or "")[:2000] or None,
        queued_at=utcnow(),
        heartbeat_at=None,
    )
    if ok:
        log.warning("job back to queued", extra={"job_id": job.id, "kind": job.kind, "error_code": code})
    return ok


def attempts_left(job: Job) -> bool:
    return (job.attempts or 0) < current_app.config["SETTINGS"].job_max_attempts


def settle_interrupted(job: Job, code: str, message: str) -> str:
    """An attempt ended without the runner finishing it: re-queue it, or fail it on its last attempt.

    Returns the new status (or the unchanged one when another process already moved the row).
    """
    if code != JOB_TIMEOUT and attempts_left(job):
        if mark_queued(job, code, message, statuses=(QUEUED, RUNNING), attempts=job.attempts):
            return QUEUED
    elif mark_failed(job, code, message, attempts=job.attempts):
        return FAILED
    db.session.expire(job)
    return job.status
