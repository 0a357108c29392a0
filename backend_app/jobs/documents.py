"""The ``document_extraction`` job: hands the row's document to the use case, services/documents/extract.py.

It runs on the ``video`` queue: like a video, a scanned document is CPU work (rendering, OCR)
that should not hold up the LLM queue's short calls.

The use case (and with it pypdf, pypdfium2, python-docx, python-pptx, lxml, Pillow, langdetect:
~27 MB) is imported when a document job runs, not when the worker preloads its handlers: every
work horse carries what the worker preloaded, and a video's horse must stay under 300 MB on a
10-minute 1080p file (issue 21; docs/benchmarks.md). The import costs a document job ~0.7 s here.
"""

from __future__ import annotations

from backend_app.jobs.runner import JobContext
from backend_app.models import Job


def extract(job: Job, ctx: JobContext) -> dict:
    """Extract the pages of ``job.payload['document_id']``; returns a short result."""
    from backend_app.services.documents import extract as document_extract

    document_id = (job.payload or {}).get("document_id")
    return document_extract.extract(document_id, ctx.progress, run_id=job.id, user_id=job.user_id)
