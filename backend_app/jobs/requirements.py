"""The requirements_batch job kind: evaluate, suggest or rewrite every row of a batch."""

from __future__ import annotations

from backend_app.jobs.runner import JobContext
from backend_app.models import Job
from backend_app.services.requirements import batch_run


def run_batch(job: Job, ctx: JobContext) -> dict:
    """Run one batch; its rows come from Redis, its results go to the database from this thread."""
    return batch_run.run(job, ctx)
