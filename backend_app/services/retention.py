"""Retention: delete what is older than PURGE_RETENTION_H, and orphaned temp files.

Run hourly by the `purge` job (the worker's scheduler submits it) and by `flask data purge`.
Analyses go with their storage objects, shot documents and passages (the chat indexes are
built over them); finished job rows go once no kept analysis points at them. In between run the purge
hooks (services/hooks.py) the features register: abandoned uploads, requirement batches, chat
history…
Temp files under DATA_DIR/tmp are orphans once older than the longest job time limit.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, func, select

from backend_app.extensions import db
from backend_app.models import Analysis, Job, Passage, Person, ShotDocument
from backend_app.models.base import iso, utcnow
from backend_app.models.job import FINISHED
from backend_app.queue.kinds import KINDS
from backend_app.services import hooks
from backend_app.services.video import people

log = logging.getLogger(__name__)

BATCH = 200
MIN_TMP_AGE_S = 3600


def _storage():
    try:
        from backend_app.adapters.storage import get_storage
    except ImportError:  # storage not configured in this build: database rows only
        return None
    return get_storage()


def purge_analyses(cutoff: datetime, dry_run: bool) -> dict[str, int]:
    """Analyses created before ``cutoff`` whose job is over: objects, shot documents, passages, people, rows."""
    old = (
        select(Analysis)
        .outerjoin(Job, Analysis.job_id == Job.id)
        .where(Analysis.created_at < cutoff, (Job.id.is_(None)) | (Job.status.in_(FINISHED)))
    )
    counts = {"analyses": 0, "shot_documents": 0, "passages": 0, "people": 0, "storage_objects": 0}
    if dry_run:
        ids = [a.id for a in db.session.execute(old).scalars()]
        counts["analyses"] = len(ids)
        for key, model in (("shot_documents", ShotDocument), ("passages", Passage), ("people", Person)):
            counts[key] = _rows_of(model, ids)
        return counts
    storage = _storage()
    while batch := db.session.execute(old.limit(BATCH)).scalars().all():
        ids = [a.id for a in batch]
        if storage is not None:
            for analysis in batch:
                counts["storage_objects"] += storage.delete_prefix(analysis.prefix)
        counts["people"] += people.forget_analyses(ids)
        counts["shot_documents"] += (
            db.session.execute(delete(ShotDocument).where(ShotDocument.analysis_id.in_(ids))).rowcount or 0
        )
        counts["passages"] += db.session.execute(delete(Passage).where(Passage.analysis_id.in_(ids))).rowcount or 0
        counts["analyses"] += db.session.execute(delete(Analysis).where(Analysis.id.in_(ids))).rowcount or 0
        db.session.commit()
    return counts


def _rows_of(model, analysis_ids: list[str]) -> int:
    """How many rows of ``model`` belong to these analyses (a dry run's count of what would go)."""
    if not analysis_ids:
        return 0
    return db.session.execute(
        select(func.count()).select_from(model).where(model.analysis_id.in_(analysis_ids))
    ).scalar()


def purge_jobs(cutoff: datetime, dry_run: bool) -> dict[str, int]:
    """Finished job rows older than ``cutoff`` that no kept analysis refers to."""
    referenced = select(Analysis.job_id).where(Analysis.job_id.is_not(None))
    where = (
        Job.status.in_(FINISHED),
        func.coalesce(Job.finished_at, Job.created_at) < cutoff,
        Job.id.not_in(referenced),
    )
    if dry_run:
        return {"jobs": db.session.execute(select(func.count()).select_from(Job).where(*where)).scalar()}
    deleted = db.session.execute(delete(Job).where(*where).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return {"jobs": deleted or 0}


def purge_tmp(dry_run: bool, now_ts: float | None = None) -> dict[str, int]:
    """Files under DATA_DIR/tmp older than any job could still be using them."""
    root = Path(current_app.config["SETTINGS"].data_dir) / "tmp"
    longest = max([MIN_TMP_AGE_S] + [kind.timeout_s() + 120 for kind in KINDS.values()])
    limit = (now_ts or time.time()) - longest
    removed = 0
    if not root.is_dir():
        return {"tmp_files": 0}
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        try:
            if path.is_file() or path.is_symlink():
                if path.lstat().st_mtime < limit:
                    removed += 1
                    if not dry_run:
                        path.unlink()
            elif path.is_dir() and not dry_run and not any(path.iterdir()) and path.stat().st_mtime < limit:
                path.rmdir()
        except OSError:
            continue  # removed by its owner meanwhile
    return {"tmp_files": removed}


def purge(dry_run: bool = False, now: datetime | None = None) -> dict:
    """Everything older than PURGE_RETENTION_H; returns counts per kind of data and the cutoff."""
    hours = current_app.config["SETTINGS"].purge_retention_h
    cutoff = (now or utcnow()) - timedelta(hours=hours)
    counts: dict = {"cutoff": iso(cutoff)}
    counts.update(purge_analyses(cutoff, dry_run))
    for purger in hooks.current().purge:
        try:
            counts.update(purger(cutoff, dry_run))
        except Exception:  # one area's failure must not keep the others' data forever
            db.session.rollback()
            log.exception("purger failed", extra={"purger": getattr(purger, "__name__", str(purger))})
    counts.update(purge_jobs(cutoff, dry_run))
    counts.update(purge_tmp(dry_run, (now.timestamp() if now else None)))
    log.info("purge", extra={"dry_run": dry_run, **{k: v for k, v in counts.items() if k != "cutoff"}})
    return counts
