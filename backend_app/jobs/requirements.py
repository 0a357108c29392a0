"""The requirements_batch job kind: evaluate, suggest or rewrite every row of a batch."""

from __future__ import annotations

from ..models import Job
from ..services.requirements import batch
from .runner import JobContext


def run_batch(job: Job, ctx: JobContext) -> dict:
    """Run one batch; its rows come from Redis, its results go to the database from this thread."""
    return batch.run(job, ctx)
