"""Job queries and actions for admins and owners."""

from __future__ import annotations

from sqlalchemy import select

from ..errors import NotFound
from ..extensions import db
from ..models import Job


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
