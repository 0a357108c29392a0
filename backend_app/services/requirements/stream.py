"""A batch as it runs: rows as they are stored, progress, and a final ``done``, as events.

The database is the source: a client that connects late (or reconnects after the row it saw)
gets every row after that one, then follows the live batch. Each ``row`` event's id is its row
index; the events end with ``done`` when the job finishes. A batch canceled while it runs is
followed until its run has stopped (it stores the row it is on first), or for STOP_WAIT_S when
no run answers (its worker is gone). The view sends them as
Server-Sent Events (``backend_app.http.sse_response``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import current_app

from backend_app.extensions import db
from backend_app.models import RequirementBatch
from backend_app.models.base import utcnow
from backend_app.models.job import CANCELED, FINISHED
from backend_app.queue.state import STOPPED
from backend_app.services.requirements import batch as batches

POLL_S = 0.25
PAGE = 500
RECONNECT_MS = 2000  # how soon a dropped client comes back (it resumes after the last row it saw)
STOP_WAIT_S = 30  # how long a canceled batch's stream waits for its run to stop

Event = tuple[str, Any] | tuple[str, Any, int] | None


def events(batch_id: str, *, after: int = -1) -> Iterator[Event]:
    """(event, data[, row index]) of an already tenant-checked batch from row ``after + 1`` on;
    None for a round with nothing new (the stream may send a keep-alive)."""
    deadline = time.monotonic() + 2 * current_app.config["SETTINGS"].llm_job_timeout_s + 60
    last_progress = None
    while True:
        db.session.rollback()  # a fresh snapshot each round: see what the worker committed
        batch = db.session.get(RequirementBatch, batch_id, populate_existing=True)
        finished = batch.job is None or (batch.job.status in FINISHED and not _stopping(batch.job))
        rows = batches.results(batch, after=after, limit=PAGE)
        rewrites = batches.rewrites(batch.id) if rows and batch.mode == "rewrite" else {}
        for r in rows:
            item = r.to_dict()
            if batch.mode == "rewrite":
                item["rewrite"] = rewrites.get(r.row_index)
            yield "row", item, r.row_index
            after = r.row_index
        status = batch.to_dict()
        progress = {k: status[k] for k in ("status", "stage", "progress", "done_rows", "total_rows", "failed_rows")}
        if rows or progress != last_progress:
            yield "progress", progress
            last_progress = progress
        else:
            yield None
        if finished and len(rows) < PAGE:
            yield "done", status
            return
        if time.monotonic() > deadline:
            yield "error", {"code": "STREAM_TIMEOUT", "message": "The batch is still running; reconnect."}
            return
        time.sleep(POLL_S)


def _stopping(job) -> bool:
    """Canceled while running, and its run has not yet stored its last row and stopped."""
    if job.status != CANCELED or job.stage == STOPPED or job.finished_at is None:
        return False
    return (utcnow() - job.finished_at).total_seconds() < STOP_WAIT_S
