"""The enqueue seam: the job row is committed first, then handed to RQ under the same id.

A worker can therefore never start on a row that does not exist, and a failed enqueue
leaves a ``queued`` row with the attempts and the last error on it for the reconciler.

Fair scheduling (per-user dispatch slots). RQ serves each queue first in, first out, so 30
jobs one user put on it ahead of another user's one would all run first. Instead, at most
USER_JOB_SLOTS of one user's jobs are on one RQ queue (waiting or running) at any time: such a
row carries ``dispatched_at``. The user's further jobs stay ``queued`` in the database without
an RQ job ("held"), and ``release`` hands the oldest of them to RQ as slots free up: right
after a job of the user ends (the runner, RQ's failure callback, the work-horse hook) and, as
a safety net for crashes between those steps, in every reconciler pass. A released job goes to
the back of the RQ queue, behind every other user's job already waiting, so users take turns.
With USER_JOB_SLOTS at most the number of workers on a queue, another user's next job waits
for at most one job of this user: it is never behind more of this user's jobs than there are
workers, and each worker finishes what it is running within one job's length.

The row stays the truth: "held" is ``queued`` without ``dispatched_at``; the reconciler
re-enqueues only dispatched rows that lost their RQ job, and releases held ones. Deciding how
many slots are free and taking them happens under a per-user Redis lock, so two processes
(two web requests, a worker and the reconciler) can never give one user more slots than
allowed. Jobs without a user (purge, self-test) are never held.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app
from redis.exceptions import LockError, RedisError
from rq import Callback, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from sqlalchemy import and_, func, or_, select, true, update

from backend_app.extensions import db, get_queue, redis_store
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.models.job import QUEUED, RUNNING
from backend_app.observability import bind_request_log_ids
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
    bind_request_log_ids(session_id=session_id, **job.payload)  # the request's lines name what it starts
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


def withdraw(job_id: str) -> None:
    """Take a row's RQ job off its queue (and out of RQ's retry schedule) unless a horse runs it now.

    Best effort: a run that starts anyway finds its row no longer ``queued`` and does nothing."""
    try:
        rq_job = RQJob.fetch(job_id, connection=redis_store.conn)
        if rq_job.get_status() != "started":
            rq_job.delete()
    except NoSuchJobError:
        pass
    except RedisError as exc:
        log.warning("could not withdraw the RQ job", extra={"job_id": job_id, "error": str(exc)})


def enqueue(job: Job) -> bool:
    """Hand a committed ``queued`` row to RQ when its user has a free slot, else hold it.

    Returns True when the row is on its way: on RQ, or held for its turn. False when RQ
    refused it (or the slot lock could not be had): the reconciler tries again later.
    """
    bind_request_log_ids(**job.log_ids)
    if job.user_id is None or current_app.config["SETTINGS"].user_job_slots <= 0:
        return send(job)
    if job.dispatched_at is not None:  # a new run of a row that never gave up its slot
        return send(job)
    released = release(job.user_id, job.queue)
    if released is None:
        return False
    db.session.refresh(job)
    return job.dispatched_at is None or job.enqueue_last_error is None


def expects_rq_job():
    """SQL: a ``queued`` row that should have an RQ job (dispatched, or never held: no user, no slots)."""
    if current_app.config["SETTINGS"].user_job_slots <= 0:
        return true()
    return or_(Job.dispatched_at.is_not(None), Job.user_id.is_(None))


def _holds_slot():
    return or_(Job.status == RUNNING, and_(Job.status == QUEUED, Job.dispatched_at.is_not(None)))


def release(user_id: str, queue: str) -> list[str] | None:
    """Dispatch the user's oldest held rows on ``queue`` into the slots that are free.

    Returns the ids handed to RQ, or None when the user's slot lock could not be taken (Redis
    down, or another process holding it too long); the held rows then wait for the next pass.
    """
    slots = current_app.config["SETTINGS"].user_job_slots
    try:
        lock = redis_store.conn.lock(f"framewise:dispatch:{user_id}:{queue}", timeout=30, blocking_timeout=10)
        if not lock.acquire():
            log.warning("dispatch lock busy; held jobs wait for the reconciler", extra={"user_id": user_id})
            return None
    except RedisError as exc:
        log.warning("dispatch lock unavailable", extra={"user_id": user_id, "error": str(exc)})
        return None
    try:
        db.session.commit()  # a fresh snapshot: SQLite keeps a read transaction's view until it ends
        mine = (Job.user_id == user_id, Job.queue == queue)
        busy = db.session.execute(select(func.count()).select_from(Job).where(*mine, _holds_slot())).scalar()
        free = slots - busy if slots > 0 else 1 << 30
        if free <= 0:
            return []
        clock = func.coalesce(Job.queued_at, Job.created_at)
        held = db.session.execute(
            select(Job)
            .where(*mine, Job.status == QUEUED, Job.dispatched_at.is_(None))
            .order_by(clock, Job.created_at)
            .limit(free)
        ).scalars()
        sent = []
        for job in list(held):
            now = utcnow()  # the staleness clock restarts: the row has had no RQ job until now
            taken = db.session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == QUEUED, Job.dispatched_at.is_(None))
                .values(dispatched_at=now, queued_at=now)
            ).rowcount
            db.session.commit()
            if taken:
                db.session.refresh(job)
                send(job)
                sent.append(job.id)
        return sent
    finally:
        try:
            lock.release()
        except (LockError, RedisError):
            pass  # expired meanwhile: the counts were taken under it, the slots are still right


def release_for(job_id: str) -> None:
    """After a job's run: if it ended, its user's next held job (same queue) takes the slot."""
    job = db.session.get(Job, job_id)
    if job is None or job.user_id is None or not job.is_finished:
        return
    if current_app.config["SETTINGS"].user_job_slots > 0:
        release(job.user_id, job.queue)


def users_with_held() -> list[tuple[str, str]]:
    """(user_id, queue) pairs that have held rows, for the reconciler's release pass."""
    if current_app.config["SETTINGS"].user_job_slots <= 0:
        return []
    return [
        (user_id, queue)
        for user_id, queue in db.session.execute(
            select(Job.user_id, Job.queue)
            .where(Job.status == QUEUED, Job.dispatched_at.is_(None), Job.user_id.is_not(None))
            .distinct()
        ).all()
    ]


def send(job: Job) -> bool:
    """Enqueue a committed job row on RQ, retrying with backoff; records every attempt on the row.

    Returns True when RQ accepted it. On failure the row stays ``queued`` with the error,
    and the reconciler picks it up later: nothing is lost.
    """
    settings = current_app.config["SETTINGS"]
    if job.dispatched_at is None:
        job.dispatched_at = utcnow()
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
