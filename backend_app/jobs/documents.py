"""The ``document_extraction`` job: hands the row's document to the use case, services/documents/extract.py.

It runs on the ``video`` queue: like a video, a scanned document is CPU work (rendering, OCR)
that should not hold up the LLM queue's short calls.
"""

from __future__ import annotations

from backend_app.jobs.runner import JobContext
from backend_app.models import Job
from backend_app.services.documents import extract as document_extract


def extract(job: Job, ctx: JobContext) -> dict:
    """Extract the pages of ``job.payload['document_id']``; returns a short result."""
    document_id = (job.payload or {}).get("document_id")
    return document_extract.extract(document_id, ctx.progress, run_id=job.id, user_id=job.user_id)
