"""Row transitions that several processes race for, written as compare-and-set updates.

A job row can be touched by its work horse, the worker that forked it (horse killed), RQ's
failure callback, the reconciler in another worker and an admin retry. Each transition
names the state it expects (status and attempt number); when another process got there
first the update matches no row and the caller backs off. That is what makes "completed
exactly once" hold when a lost job is re-run while its old run turns out to be alive. A
transition that matches no row writes nothing, also nothing the caller added to the session:
a handler's output is committed together with its run's progress, so a run that lost its row
(declared lost and re-run elsewhere) cannot store anything after that.

Interrupted attempts (the worker lost, the hard time limit reached) and RQ agree on what comes
next: the row goes back to ``queued`` exactly when another run is worth making (attempts left,
and for a time limit only for a resumable kind, see queue/kinds.py), so a retry RQ schedules finds
a runnable row; otherwise the row fails and RQ is told not to retry (jobs/runner.py).
A run whose row its owner canceled may still store what it has finished, then stops.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import current_app

from backend_app.extensions import db
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.models.job import CANCELED, FAILED, QUEUED, RUNNING
from backend_app.queue import kinds as registry

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
    if changed == 1:
        db.session.commit()
        return True
    db.session.rollback()  # not ours: nothing the caller staged with it may land either
    return False


def report(job_id: str, *, attempt: int, worker: str | None, **values: Any) -> str | None:
    """The progress of the run (``attempt`` on ``worker``), committed with what the caller staged.

    Returns RUNNING when the run still holds the row; CANCELED when its owner canceled it meanwhile
    (what the run finished is kept, only the progress is written: the run should stop now); None
    when another run holds the row (nothing is written)."""
    ours = (Job.id == job_id, Job.attempts == attempt, Job.worker_name == worker)
    if (
        db.session.query(Job)
        .filter(*ours, Job.status == RUNNING)
        .update({getattr(Job, k): v for k, v in values.items()}, synchronize_session=False)
    ):
        db.session.commit()
        return RUNNING
    if "progress" in values and db.session.query(Job).filter(*ours, Job.status == CANCELED).update(
        {Job.progress: values["progress"]}, synchronize_session=False
    ):
        db.session.commit()
        return CANCELED
    db.session.rollback()
    return None


def holder_status(job_id: str, *, attempt: int, worker: str | None) -> str | None:
    """The row's status while this run holds it (RUNNING, or CANCELED by its owner); None when it does not.

    Read on a connection of its own, so whatever the caller has staged in its session stays there."""
    with db.engine.connect() as conn:
        status = conn.execute(
            db.select(Job.status).where(Job.id == job_id, Job.attempts == attempt, Job.worker_name == worker)
        ).scalar()
    return status if status in (RUNNING, CANCELED) else None


STOPPED = "canceled"  # the stage of a canceled row once nothing runs it any more


def cancel(job: Job) -> bool:
    """Cancel a queued or running row (its owner asked). A queued one is stopped at once; a
    running one keeps its stage until its run, at its next report, stops and says so (``stopped``)."""
    now = utcnow()
    ok = transition(job.id, statuses=(QUEUED,), status=CANCELED, stage=STOPPED, finished_at=now, heartbeat_at=None)
    ok = ok or transition(job.id, statuses=(RUNNING,), status=CANCELED, finished_at=now, heartbeat_at=None)
    if ok:
        log.info("job canceled", extra={"job_id": job.id, "kind": job.kind})
    return ok


def stopped(job_id: str, *, attempt: int, worker: str | None, **values: Any) -> bool:
    """The run of a canceled row has stopped: nothing will write to the row any more."""
    return transition(
        job_id, statuses=(CANCELED,), expect_attempts=attempt, expect_worker=worker, stage=STOPPED, **values
    )


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


def retries_after(job: Job, code: str) -> bool:
    """Whether an attempt that ended with ``code`` is worth another run: attempts left, and a hard
    time limit only for a resumable kind (its next run starts where this one stopped)."""
    if not attempts_left(job):
        return False
    if code != JOB_TIMEOUT:
        return True
    try:
        return registry.get(job.kind).resumable
    except LookupError:
        return False


def settle_interrupted(job: Job, code: str, message: str) -> str:
    """An attempt ended without the runner finishing it: re-queue it, or fail it on its last attempt
    (or at a time limit it would only reach again, see ``retries_after``).

    Returns the new status (or the unchanged one when another process already moved the row).
    """
    if retries_after(job, code):
        if mark_queued(job, code, message, statuses=(QUEUED, RUNNING), attempts=job.attempts):
            return QUEUED
    elif mark_failed(job, code, message, attempts=job.attempts):
        return FAILED
    db.session.expire(job)
    return job.status
