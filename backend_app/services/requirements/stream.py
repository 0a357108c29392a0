"""Server-Sent Events for a batch: rows as they are stored, progress, and a final ``done``.

The database is the source: a client that connects late (or reconnects with
``Last-Event-ID``) gets every row after the one it saw, then follows the live batch. Each
``row`` event's id is its row index; the stream ends with ``done`` when the job finishes.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, stream_with_context

from backend_app.extensions import db
from backend_app.models import RequirementBatch
from backend_app.models.job import FINISHED
from backend_app.services.requirements import batch as batches

POLL_S = 0.25
_EVENT_ID = re.compile(r"-?[0-9]{1,9}")
KEEPALIVE_S = 15.0


def event_response(batch_id: str, last_event_id: str | None) -> Response:
    """The SSE response for a tenant-checked batch, resuming after the client's Last-Event-ID."""
    last = (last_event_id or "").strip()
    # Event ids are row numbers: anything else (not ASCII digits, or past any batch's size and
    # the database's integers) starts from the beginning.
    after = int(last) if _EVENT_ID.fullmatch(last) else -1
    response = Response(stream_with_context(events(batch_id, after=after)), mimetype="text/event-stream")
    response.headers.update({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return response


def sse(event: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def events(batch_id: str, *, after: int = -1) -> Iterator[str]:
    """The event stream of an already tenant-checked batch, from row ``after + 1`` on."""
    deadline = time.monotonic() + 2 * current_app.config["SETTINGS"].llm_job_timeout_s + 60
    last_progress, last_sent = None, time.monotonic()
    yield "retry: 2000\n\n"
    while True:
        db.session.rollback()  # a fresh snapshot each round: see what the worker committed
        batch = db.session.get(RequirementBatch, batch_id, populate_existing=True)
        finished = batch.job is None or batch.job.status in FINISHED
        rows = batches.results(batch, after=after, limit=500)
        rewrites = batches.rewrites(batch.id) if rows and batch.mode == "rewrite" else {}
        for r in rows:
            item = r.to_dict()
            if batch.mode == "rewrite":
                item["rewrite"] = rewrites.get(r.row_index)
            yield sse("row", item, r.row_index)
            after = r.row_index
        status = batch.to_dict()
        progress = {k: status[k] for k in ("status", "stage", "progress", "done_rows", "total_rows", "failed_rows")}
        if rows or progress != last_progress:
            yield sse("progress", progress)
            last_progress, last_sent = progress, time.monotonic()
        if finished and len(rows) < 500:
            yield sse("done", status)
            return
        if time.monotonic() > deadline:
            yield sse("error", {"code": "STREAM_TIMEOUT", "message": "The batch is still running; reconnect."})
            return
        if time.monotonic() - last_sent > KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        time.sleep(POLL_S)
