"""The ``study`` job: hands the row's study material to the use case, services/study/material.py."""

from __future__ import annotations

from backend_app.jobs.runner import JobContext
from backend_app.models import Job
from backend_app.services.study import material


def make(job: Job, ctx: JobContext) -> dict:
    """Make the study material ``job.payload['material_id']``; returns its counts."""
    return material.make((job.payload or {}).get("material_id", ""), ctx.progress, user_id=job.user_id)
