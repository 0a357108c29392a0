"""The ``video_analysis`` job: hands the row's analysis to the use case, services/video/analyse.py.

The runner claims the row and records the outcome; the analysis's temp dir is named after the
job, so the worker can remove what a killed run left (jobs/workers.py).
"""

from __future__ import annotations

from flask import current_app, has_app_context

from backend_app.jobs.runner import JobContext
from backend_app.models import Job
from backend_app.services.video import analyse as video_analyse
from backend_app.services.video import pipeline as video_pipeline


def warm() -> None:
    """Load what keyframe inspection reads and the enabled analysers' models before horses fork,
    not in each job."""
    video_pipeline.warm(current_app.config["SETTINGS"] if has_app_context() else None)


def analyse(job: Job, ctx: JobContext) -> dict:
    """Run the whole analysis of ``job.payload['analysis_id']``; returns a short result."""
    analysis_id = (job.payload or {}).get("analysis_id")
    return video_analyse.analyse(analysis_id, ctx.progress, run_id=job.id, user_id=job.user_id)
