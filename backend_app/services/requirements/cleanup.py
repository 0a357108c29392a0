"""Requirement batches leave nothing behind: retention purge, session deletion, account erasure.

Batches (and, by cascade, their results) older than PURGE_RETENTION_H go with the hourly
purge once their job is over; with them go the Redis keys that may still hold a batch's
input or rewrites. Deleting a session or erasing an account removes those keys too (the
rows themselves go by the database's cascades and the schema-derived erasure). The factory
registers these hooks through services/requirements/hooks.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, or_, select

from backend_app.extensions import db
from backend_app.models import Job, RequirementBatch, RequirementResult
from backend_app.models.job import FINISHED
from backend_app.services.requirements.batch import purge_input
from backend_app.tenancy import Tenant, scoped

CHUNK = 200


def purge_requirements(cutoff: datetime, dry_run: bool) -> dict[str, int]:
    """Finished batches created before ``cutoff``, their results and their Redis keys."""
    old = (
        select(RequirementBatch.id)
        .outerjoin(Job, RequirementBatch.job_id == Job.id)
        .where(RequirementBatch.created_at < cutoff, or_(Job.id.is_(None), Job.status.in_(FINISHED)))
    )
    counts = {"requirement_batches": 0, "requirement_results": 0}
    if dry_run:
        ids = list(db.session.execute(old).scalars())
        counts["requirement_batches"] = len(ids)
        counts["requirement_results"] = (
            db.session.execute(
                select(func.count()).select_from(RequirementResult).where(RequirementResult.batch_id.in_(ids))
            ).scalar()
            if ids
            else 0
        )
        return counts
    while ids := list(db.session.execute(old.limit(CHUNK)).scalars()):
        counts["requirement_results"] += (
            db.session.execute(delete(RequirementResult).where(RequirementResult.batch_id.in_(ids))).rowcount or 0
        )
        counts["requirement_batches"] += (
            db.session.execute(delete(RequirementBatch).where(RequirementBatch.id.in_(ids))).rowcount or 0
        )
        db.session.commit()
        for batch_id in ids:
            purge_input(batch_id)
    return counts


def _drop_keys(tenant: Tenant) -> int:
    ids = list(db.session.execute(scoped(RequirementBatch, tenant).with_only_columns(RequirementBatch.id)).scalars())
    for batch_id in ids:
        purge_input(batch_id)
    return len(ids)


def cleanup_session(tenant: Tenant) -> None:
    """Session hook: the Redis keys of the deleted session's batches."""
    _drop_keys(tenant)


def erase_user(user_id: str) -> dict[str, int]:
    """Account eraser: the Redis keys of every batch of the user."""
    return {"requirement_batch_keys": _drop_keys(Tenant(user_id))}
