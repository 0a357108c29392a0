"""The enqueue seam: the job row is committed first, then handed to RQ under the same id.

A worker can therefore never start on a row that does not exist, and a failed enqueue
leaves a ``queued`` row with the attempts and the last error on it for the reconciler.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from rq import Callback, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob

from backend_app.extensions import db, get_queue, redis_store
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.models.job import QUEUED
from backend_app.queue import kinds as registry

log = logging.getLogger(__name__)
RUNNER = "backend_app.jobs.runner.run_job"
ON_FAILURE = "backend_app.jobs.runner.on_rq_failure"


def create_job(
    kind: str,
    *,
    user_id: str | None,
    session_id: str | None = None,
    payload: dict[str, Any] | None = None,
    status: str = QUEUED,
    size_hint: float | None = None,
    job_id: str | None = None,
) -> Job:
    """Add a job row to the session (the caller's transaction commits it)."""
    spec = registry.get(kind)
    job = Job(
        kind=kind,
        queue=spec.queue,
        status=status,
        user_id=user_id,
        session_id=session_id,
        payload=payload or {},
        size_hint=size_hint,
        timings={},
        queued_at=utcnow() if status == QUEUED else None,
    )
    if job_id:
        job.id = job_id
    db.session.add(job)
    return job


def submit(kind: str, **kwargs: Any) -> Job:
    """Create, commit and enqueue a job in one unit of work."""
    job = create_job(kind, **kwargs)
    db.session.commit()
    enqueue(job)
    return job


def retry_policy(settings) -> Retry | None:
    """RQ's retry for retryable failures: JOB_MAX_ATTEMPTS runs in all, backoff doubling."""
    retries = settings.job_max_attempts - 1
    if retries < 1:
        return None
    base = max(settings.job_retry_backoff_s, 0)
    return Retry(max=retries, interval=[base * 2**i for i in range(retries)])


def rq_enqueue(job: Job, connection=None) -> None:
    """Put the row's work on its RQ queue; the RQ job id is the row id, so at most one RQ job exists.

    A leftover RQ job under the same id (failed, finished, or abandoned by a dead worker) is
    deleted first: callers decide that the row needs a new run.
    """
    spec = registry.get(job.kind)
    connection = connection or redis_store.conn
    try:
        RQJob.fetch(job.id, connection=connection).delete()
    except NoSuchJobError:
        pass
    get_queue(spec.queue, connection).enqueue_call(
        func=RUNNER,
        args=(job.id,),
        job_id=job.id,
        timeout=spec.timeout_s(),
        result_ttl=3600,
        failure_ttl=7 * 86400,
        description=f"{job.kind} {job.id}",
        retry=retry_policy(current_app.config["SETTINGS"]),
        on_failure=Callback(ON_FAILURE),
    )


def enqueue(job: Job) -> bool:
    """Enqueue a committed job row, retrying with backoff; records every attempt on the row.

    Returns True when RQ accepted it. On failure the row stays ``queued`` with the error,
    and the reconciler picks it up later: nothing is lost.
    """
    settings = current_app.config["SETTINGS"]
    delay = settings.enqueue_backoff_s
    last_error = None
    if job.status == QUEUED and job.queued_at is None:
        job.queued_at = utcnow()  # rows that waited for an upload start their staleness clock here
    for attempt in range(1, settings.enqueue_retries + 1):
        job.enqueue_attempts = (job.enqueue_attempts or 0) + 1
        try:
            rq_enqueue(job)
        except RedisError as exc:
            last_error = f"{type(exc).__name__}: {exc}"
            job.enqueue_last_error = last_error[:2000]
            log.warning("enqueue failed", extra={"job_id": job.id, "attempt": attempt, "error": last_error})
            db.session.commit()
            if attempt < settings.enqueue_retries:
                time.sleep(delay)
                delay *= 2
            continue
        job.enqueued_at = utcnow()
        job.enqueue_last_error = None
        db.session.commit()
        log.info("job enqueued", extra={"job_id": job.id, "kind": job.kind, "attempt": attempt})
        return True
    log.error("enqueue gave up; the reconciler will retry", extra={"job_id": job.id, "error": last_error})
    return False
