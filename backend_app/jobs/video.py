"""The ``video_analysis`` job: fetch → probe → decode → keyframes → describe → report → index.

Idempotent: a re-run replaces its own keyframes, contact sheet, report and shot documents.
The source is downloaded to a per-job temp dir under ``DATA_DIR/tmp`` (S3 objects too:
OpenCV cannot read S3 keys), removed on every exit path.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import tempfile
import time

from flask import current_app
from sqlalchemy import select

from backend_app.adapters.storage import ObjectNotFound, get_storage
from backend_app.extensions import db
from backend_app.jobs.runner import JobContext
from backend_app.models import Analysis, Job
from backend_app.models.base import utcnow
from backend_app.queue.errors import JobFailure, RetryableFailure
from backend_app.services.chat import shot_documents
from backend_app.services.video import pipeline as video_pipeline

log = logging.getLogger(__name__)
TEMP_PREFIX = "video-"


def warm() -> None:
    """Load what keyframe inspection reads before horses fork, not in each job (keyframes.warm)."""
    video_pipeline.kf.warm()


def temp_root(settings) -> str:
    root = os.path.join(settings.data_dir, "tmp")
    os.makedirs(root, exist_ok=True)
    return root


def remove_temp_of(job_id: str) -> list[str]:
    """Remove what a run of this job left under ``DATA_DIR/tmp``; the names removed.

    A run removes its own temp dir on every exit it lives to see; a work horse killed (stopped
    because its analysis was deleted, out of memory, at the hard limit) does not, and the source
    video would stay there until the hourly purge of old temp files. The worker calls this
    when its horse has ended, however it ended."""
    root = temp_root(current_app.config["SETTINGS"])
    removed = sorted(glob.glob(os.path.join(glob.escape(root), f"{TEMP_PREFIX}{job_id}-*")))
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return [os.path.basename(p) for p in removed]


def _load(job: Job) -> Analysis:
    analysis_id = (job.payload or {}).get("analysis_id")
    analysis = db.session.get(Analysis, analysis_id) if analysis_id else None
    if analysis is None or (job.user_id and analysis.user_id != job.user_id):
        raise JobFailure("ANALYSIS_NOT_FOUND", "The analysis of this job no longer exists.")
    return analysis


def fetch(analysis: Analysis, workdir: str) -> str:
    """Download the source object to the job's temp dir."""
    ext = os.path.splitext(analysis.filename)[1].lower()
    path = os.path.join(workdir, "source" + (ext if ext.isascii() and len(ext) <= 6 else ""))
    try:
        get_storage().download_to(analysis.storage_key, path)
    except ObjectNotFound:
        raise JobFailure("STORAGE_DOWNLOAD_FAILED", "The uploaded video is not in storage.") from None
    except Exception as exc:  # network, S3 errors: worth another attempt
        raise RetryableFailure("STORAGE_DOWNLOAD_FAILED", f"Downloading the video failed: {exc}"[:500]) from None
    return path


def store_images(analysis: Analysis, out: video_pipeline.PipelineOutput) -> None:
    """Replace the analysis's keyframes and contact sheet in storage."""
    storage = get_storage()
    storage.delete_prefix(f"{analysis.prefix}keyframes/")
    for index, path in sorted(out.thumbs.items()):
        storage.put_file(keyframe_key(analysis, index), path, "image/jpeg")
    analysis.contact_sheet_key = None
    if out.contact_sheet:
        analysis.contact_sheet_key = f"{analysis.prefix}contact_sheet.jpg"
        storage.put_file(analysis.contact_sheet_key, out.contact_sheet, "image/jpeg")


def keyframe_key(analysis: Analysis, index: int) -> str:
    return f"{analysis.prefix}keyframes/{index}.jpg"


def _throttled(ctx: JobContext, low: float, high: float):
    last = [0.0]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[0] = now
            ctx.progress("decode", low + (high - low) * fraction)

    return report


def analyse(job: Job, ctx: JobContext) -> dict:
    """Run the whole analysis of ``job.payload['analysis_id']``; returns a short result."""
    settings = current_app.config["SETTINGS"]
    analysis = _load(job)
    analysis_id, prefix = analysis.id, analysis.prefix
    workdir = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{job.id}-", dir=temp_root(settings))
    try:
        ctx.progress("fetch", 2)
        started = time.perf_counter()
        source = fetch(analysis, workdir)
        fetch_s = round(time.perf_counter() - started, 4)
        out = video_pipeline.analyse_file(
            source, workdir, settings, on_stage=ctx.progress, on_progress=_throttled(ctx, 15, 75)
        )
        store_images(analysis, out)
        out.timings = {"fetch": fetch_s, **out.timings}
        report = video_pipeline.describe_and_report(
            out,
            settings,
            user_id=analysis.user_id,
            on_stage=ctx.progress,
            keyframe_key=lambda i: keyframe_key(analysis, i),
        )
        ctx.progress("index", 95)
        shots = shot_documents.replace_for(analysis, report)
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
