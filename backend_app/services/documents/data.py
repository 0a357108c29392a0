"""Where a document's data lives outside its row, and how it all goes away together.

Rows: the document and its pages go with the account (schema-derived erasure and export) and
with their session (the database's cascade). Objects: the source and page thumbnails live under
``users/<user_id>/documents/<id>/``, so the account-wide object eraser and exporter (the video
feature's hooks, over ``users/<user_id>/``) cover them, the export naming each source by its file
name. This module adds what neither reaches: a deleted session's objects and the retention purge.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db
from backend_app.models import Document, DocumentPage, Job
from backend_app.models.base import utcnow
from backend_app.models.job import FINISHED, PENDING_UPLOAD
from backend_app.services.documents import index
from backend_app.services.video.data import ABANDONED_GRACE_S, cancel_rq_job
from backend_app.tenancy import Tenant, list_owned

log = logging.getLogger(__name__)


def purge_document(document: Document) -> int:
    """Remove a document's objects, passages, pages, row and job row (the caller commits)."""
    cancel_rq_job(document.job)
    removed = get_storage().delete_prefix(document.prefix)
    index.forget(document)
    db.session.execute(delete(DocumentPage).where(DocumentPage.document_id == document.id))
    job = document.job
    db.session.delete(document)
    if job is not None:
        db.session.delete(job)
    db.session.flush()
    return removed


def cleanup_session(tenant: Tenant) -> None:
    """Session hook: purge every document of the deleted session."""
    for document in list_owned(Document, tenant):
        purge_document(document)


def purge_documents(cutoff: datetime, dry_run: bool) -> dict[str, int]:
    """Retention purger: documents created before ``cutoff`` whose extraction is over, and uploads
    whose link expired an hour ago with no bytes completed (with whatever partial object they left)."""
    ttl = current_app.config["SETTINGS"].signed_url_ttl_s
    abandoned_before = utcnow() - timedelta(seconds=ttl + ABANDONED_GRACE_S)
    stmt = (
        select(Document)
        .outerjoin(Job, Document.job_id == Job.id)
        .where(
            or_(
                (Document.created_at < cutoff) & (Job.id.is_(None) | Job.status.in_(FINISHED)),
                (Job.status == PENDING_UPLOAD) & (Document.created_at < abandoned_before),
            )
        )
    )
    targets = list(db.session.execute(stmt).scalars())
    counts = {"documents": len(targets), "document_objects": 0}
    if dry_run:
        return counts
    for document in targets:
        counts["document_objects"] += purge_document(document)
        db.session.commit()
    return counts
