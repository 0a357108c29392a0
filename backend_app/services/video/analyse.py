"""One analysis, start to end: fetch → probe → decode → keyframes → describe → report → index.

The use case behind the ``video_analysis`` job (jobs/video.py hands over and the runner records
the outcome). Idempotent: a re-run replaces its own keyframes, contact sheet, report and shot
documents. The source is downloaded to a per-run temp dir under ``DATA_DIR/tmp`` (S3 objects
too: OpenCV cannot read S3 keys), removed on every exit path.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable

from flask import current_app
from sqlalchemy import select

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db
from backend_app.models import Analysis
from backend_app.models.base import utcnow
from backend_app.queue.errors import JobFailure
from backend_app.services.chat import passages, shot_documents
from backend_app.services.video import people
from backend_app.services.video import pipeline as video_pipeline
from backend_app.services.video.output import PipelineOutput
from backend_app.services.video.workdir import download_source, make_workdir

log = logging.getLogger(__name__)
Progress = Callable[[str, float], None]  # (stage, percent of the whole run)


def _load(analysis_id: str | None, user_id: str | None) -> Analysis:
    analysis = db.session.get(Analysis, analysis_id) if analysis_id else None
    if analysis is None or (user_id and analysis.user_id != user_id):
        raise JobFailure("ANALYSIS_NOT_FOUND", "The analysis of this job no longer exists.")
    return analysis


def fetch(analysis: Analysis, workdir: str) -> str:
    """Download the source object to the run's temp dir."""
    ext = os.path.splitext(analysis.filename)[1].lower()
    path = os.path.join(workdir, "source" + (ext if ext.isascii() and len(ext) <= 6 else ""))
    return download_source(analysis.storage_key, path, "video")


def store_images(analysis: Analysis, out: PipelineOutput) -> None:
    """Replace the analysis's keyframes and contact sheet in storage."""
    storage = get_storage()
    storage.delete_prefix(f"{analysis.prefix}keyframes/")
    for index, path in sorted(out.thumbs.items()):
        storage.put_file(keyframe_key(analysis, index), path, "image/jpeg")
    analysis.contact_sheet_key = None
    if out.contact_sheet:
        analysis.contact_sheet_key = f"{analysis.prefix}contact_sheet.jpg"
        storage.put_file(analysis.contact_sheet_key, out.contact_sheet, "image/jpeg")


def store_preview(analysis: Analysis, out: PipelineOutput) -> str | None:
    """Store the preview rendition (or remove an earlier run's); its key, None without one."""
    storage = get_storage()
    key = preview_key(analysis)
    if out.preview is None:
        storage.delete(key)
        return None
    storage.put_file(key, out.preview, "video/mp4")
    return key


def preview_key(analysis: Analysis) -> str:
    """The storage key of the analysis's browser-playable rendition."""
    return f"{analysis.prefix}preview.mp4"


def keyframe_key(analysis: Analysis, index: int) -> str:
    """The storage key of a shot's keyframe picture."""
    return f"{analysis.prefix}keyframes/{index}.jpg"


def _throttled(progress: Progress, low: float, high: float) -> Callable[[float], None]:
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[0] = now
            progress("decode", low + (high - low) * fraction)

    return report


def analyse(analysis_id: str | None, progress: Progress, *, run_id: str, user_id: str | None = None) -> dict:
    """Analyse one upload (of ``user_id``, when given) in a temp dir named after ``run_id``; a short result."""
    settings = current_app.config["SETTINGS"]
    analysis = _load(analysis_id, user_id)
    analysis_id, prefix = analysis.id, analysis.prefix
    workdir = make_workdir(settings, run_id)
    try:
        progress("fetch", 2)
        started = time.perf_counter()
        source = fetch(analysis, workdir)
        fetch_s = round(time.perf_counter() - started, 4)
        out = video_pipeline.analyse_file(
            source, workdir, settings, on_stage=progress, on_progress=_throttled(progress, 15, 75)
        )
        store_images(analysis, out)
        stored_preview = store_preview(analysis, out)
        out.timings = {"fetch": fetch_s, **out.timings}
        report = video_pipeline.describe_and_report(
            out,
            settings,
            user_id=analysis.user_id,
            on_stage=progress,
            keyframe_key=lambda i: keyframe_key(analysis, i),
        )
        report["preview_key"] = stored_preview
        people.store(analysis, out.found, report)  # face crops and embeddings: kept out of the report
        progress("index", 95)
        shots = shot_documents.replace_for(analysis, report)
        passages.index_analysis_extras(analysis, report)
        _complete(analysis, report)
        return {
            "analysis_id": analysis.id,
            "shots": shots,
            "frames": report["metadata"]["frame_count"],
            "warnings": len(report["warnings"]),
        }
    except BaseException:
        _drop_outputs_if_deleted(analysis_id, prefix)
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _drop_outputs_if_deleted(analysis_id: str, prefix: str) -> None:
    """When the analysis was deleted while this run worked (its next progress write or its final
    commit then fails), remove what the run stored after the delete had cleared the prefix."""
    try:
        db.session.rollback()
        if db.session.scalar(select(Analysis.id).where(Analysis.id == analysis_id)) is None:
            removed = get_storage().delete_prefix(prefix)
            log.info("analysis deleted while its job ran; its late outputs removed", extra={"removed": removed})
    except Exception:  # the database or storage is down: the run's own failure is what gets reported
        log.warning("could not check whether the analysis still exists", exc_info=True)


def _complete(analysis: Analysis, report: dict) -> None:
    meta = report["metadata"]
    analysis.report = report
    analysis.video_metadata = meta
    analysis.sha256 = meta["sha256"]
    analysis.file_size = meta["file_size"]
    analysis.completed_at = utcnow()
    db.session.commit()
