"""Where an analysis's data lives outside its row, and how it all goes away together.

Its hooks (registered by services/video/hooks.py): a session's cleanup (objects, shot
documents, passages, analyses and their job rows), the account eraser (every object under
``users/<user_id>/``), the export (every such object as ``files/<key>``), a retention purger
for uploads that were started and never finished, and the ``storage`` health check.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from flask import current_app
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job as RQJob
from sqlalchemy import delete, select

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db, redis_store
from backend_app.models import Analysis, Job, Passage, ShotDocument
from backend_app.models.base import utcnow
from backend_app.models.job import PENDING_UPLOAD, QUEUED, RUNNING
from backend_app.tenancy import Tenant, list_owned

log = logging.getLogger(__name__)
ABANDONED_GRACE_S = 3600


def user_prefix(user_id: str) -> str:
    return f"users/{user_id}/"


def cancel_rq_job(job) -> None:
    """Take the job off its queue (or stop its work horse) so no worker writes after a delete."""
    if job is None or job.status not in (QUEUED, RUNNING):
        return
    try:
        rq_job = RQJob.fetch(job.id, connection=redis_store.conn)
        if job.status == RUNNING and rq_job.get_status() == "started":
            send_stop_job_command(redis_store.conn, job.id)
        else:
            rq_job.delete()
    except (NoSuchJobError, InvalidJobOperation):
        pass
    except Exception:  # Redis down: the worker finds no row and does nothing (runner.py)
        log.warning("could not cancel the RQ job of a deleted analysis", extra={"job_id": job.id}, exc_info=True)


def purge_analysis(analysis: Analysis) -> int:
    """Remove an analysis's objects, shot documents, passages, row and job row (the caller commits)."""
    cancel_rq_job(analysis.job)
    removed = get_storage().delete_prefix(analysis.prefix)
    db.session.execute(
        delete(ShotDocument).where(ShotDocument.analysis_id == analysis.id, ShotDocument.user_id == analysis.user_id)
    )
    db.session.execute(delete(Passage).where(Passage.analysis_id == analysis.id, Passage.user_id == analysis.user_id))
    job = analysis.job
    db.session.delete(analysis)
    if job is not None:
        db.session.delete(job)
    db.session.flush()
    return removed


def purge_abandoned_uploads(cutoff: datetime, dry_run: bool) -> dict[str, int]:
    """Retention purger: uploads whose link expired an hour ago with no bytes completed.

    ``cutoff`` (the retention age) is not what matters here: an upload nobody finished is
    dead once its link has expired, so it goes then, with whatever partial object it left.
    """
    ttl = current_app.config["SETTINGS"].signed_url_ttl_s
    stale = (
        select(Analysis)
        .join(Job, Analysis.job_id == Job.id)
        .where(
            Job.status == PENDING_UPLOAD, Analysis.created_at < utcnow() - timedelta(seconds=ttl + ABANDONED_GRACE_S)
        )
    )
    targets = list(db.session.execute(stale).scalars())
    counts = {"abandoned_uploads": len(targets), "abandoned_upload_objects": 0}
    if dry_run:
        return counts
    for analysis in targets:
        counts["abandoned_upload_objects"] += purge_analysis(analysis)
        db.session.commit()
    return counts


def cleanup_session(tenant: Tenant) -> None:
    """Session hook: purge every analysis of the deleted session."""
    for analysis in list_owned(Analysis, tenant):
        purge_analysis(analysis)


def erase_objects(user_id: str) -> dict[str, int]:
    """Account eraser: every stored object under the user's prefix."""
    return {"storage_objects": get_storage().delete_prefix(user_prefix(user_id))}


def export_objects(user_id: str) -> Iterable[tuple[str, Iterator[bytes]]]:
    """Every object under the user's prefix; an uploaded video under its own file name (the key
    ends in ``source``), so the archive opens as the user's videos, not as extension-less blobs."""
    storage = get_storage()
    names = dict(
        db.session.execute(select(Analysis.storage_key, Analysis.filename).where(Analysis.user_id == user_id)).all()
    )
    for key in storage.list_keys(user_prefix(user_id)):
        name = f"{key.rsplit('/', 1)[0]}/{names[key]}" if names.get(key) else key
        yield f"files/{name}", storage.iter_chunks(key)


def check_storage() -> dict:
    """Health check: the storage backend answers."""
    return get_storage().healthcheck()
