"""Job queries and actions for admins and owners: listing, retry, ETA."""

from __future__ import annotations

from sqlalchemy import select

from ..errors import Conflict, NotFound
from ..extensions import db
from ..models import Job
from ..models.base import utcnow
from ..models.job import CANCELED, COMPLETED, FAILED, QUEUED, RUNNING


def list_jobs(status: str | None = None, limit: int = 100) -> list[Job]:
    """Admin-only listing across users (the caller checks the role)."""
    stmt = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if status:
        stmt = stmt.where(Job.status == status)
    return list(db.session.execute(stmt).scalars())


def get_job(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("No such job.", code="JOB_NOT_FOUND")
    return job


def retry(job: Job) -> Job:
    """Put a failed or canceled job back on its queue with a fresh set of attempts."""
    from ..jobs.enqueue import enqueue

    if job.status not in (FAILED, CANCELED):
        raise Conflict(f"Only failed or canceled jobs can be retried; this one is {job.status}.",
                       code="JOB_NOT_RETRYABLE", details={"status": job.status})
    job.status, job.stage, job.progress = QUEUED, None, 0
    job.error_code = job.error_message = None
    job.attempts = 0
    job.started_at = job.finished_at = job.heartbeat_at = None
    db.session.commit()
    enqueue(job)
    return job


def eta_s(job: Job | None) -> float | None:
    """Seconds until the job should finish, from past durations of its kind scaled by size."""
    if job is None or job.status not in (QUEUED, RUNNING):
        return None
    samples = db.session.execute(
        select(Job.started_at, Job.finished_at, Job.size_hint)
        .where(Job.kind == job.kind, Job.status == COMPLETED, Job.started_at.is_not(None),
               Job.finished_at.is_not(None))
        .order_by(Job.finished_at.desc()).limit(50)).all()
    if not samples:
        return None
    rates, plain = [], []
    for started, finished, size in samples:
        seconds = max((finished - started).total_seconds(), 0.0)
        plain.append(seconds)
        if size:
            rates.append(seconds / size)
    if job.size_hint and rates:
        expected = sorted(rates)[len(rates) // 2] * job.size_hint
    else:
        expected = sorted(plain)[len(plain) // 2]
    elapsed = (utcnow() - job.started_at).total_seconds() if job.status == RUNNING and job.started_at else 0.0
    if job.status == RUNNING and job.progress:
        expected = max(expected, elapsed / max(job.progress, 1) * 100)
    return round(max(expected - elapsed, 0.0), 1)
