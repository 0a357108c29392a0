"""Requirement batches in the browser: submit a markdown table, follow it live (SSE), export.

The requirement text is never stored. The page that submits the table holds it: the submit
response renders each row's text from the same request, and the live stream's findings
(spans only) are highlighted in it by app.js. A batch page opened later shows ids and scores.
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from redis.exceptions import RedisError

from backend_app.auth import current_tenant
from backend_app.errors import AppError, ValidationError, is_htmx
from backend_app.http import attachment, resume_after, sse_response
from backend_app.models import RequirementBatch
from backend_app.services import sessions
from backend_app.services.requirements import batch as batches
from backend_app.services.requirements import stream as batch_stream
from backend_app.services.requirements.export import render_export
from backend_app.services.requirements.markdown import TableError, parse
from backend_app.variant import current_variant
from backend_app.web import bp, page_login_required
from backend_app.web.highlight import score_class
from backend_app.web.requirements import MODES, page_context

EXPORT_FORMATS = ("csv", "json", "md")


def _markdown() -> str:
    upload = request.files.get("file")
    if upload and upload.filename:
        return upload.read().decode("utf-8-sig", errors="replace")
    return request.form.get("markdown", "")


def _texts(markdown: str) -> dict[int, str]:
    """Row index → requirement text, parsed the way the batch parses it (same order)."""
    try:
        table = parse(markdown, max_rows=current_app.config["SETTINGS"].max_batch_rows)
    except TableError:
        return {}
    return {index: row.text for index, row in enumerate(table.rows)}


def batch_page(batch: RequirementBatch, texts: dict[int, str], status: int = 200):
    done = {r.row_index: r for r in batches.results(batch, limit=1000)}
    try:  # rewrites are held in Redis for the retention period (the export has them too)
        rewrites = batches.rewrites(batch.id) if done else {}
    except RedisError:
        rewrites = {}
    return render_template(
        "requirements/batch.html",
        batch=batch,
        status=batch.to_dict(),
        done=done,
        indexes=sorted(set(texts) | set(done)),
        texts=texts,
        score_class=score_class,
        rewrites=rewrites,
        formats=EXPORT_FORMATS,
    ), status


@bp.post("/requirements/batches")
@page_login_required
def batch_submit_page():
    mode = request.form.get("mode", "evaluate")
    mode = mode if mode in MODES else "evaluate"
    markdown = _markdown()
    tenant = current_tenant()
    if request.form.get("session_id"):
        tenant = current_tenant(sessions.get(tenant, request.form["session_id"]).id)
    try:
        if not markdown.strip():
            raise ValidationError(
                "Paste a markdown table or choose a .md file: | id | requirementText | context |",
                code="BATCH_INPUT_MISSING",
            )
        batch = batches.submit(
            tenant,
            mode,
            markdown,
            source="file" if request.files.get("file") else "body",
            criteria_keys=request.form.getlist("criteria") or None,
            variant=current_variant(),
        )
    except AppError as exc:
        context = page_context(text="", mode="evaluate", chosen=[], batch_error=exc, markdown=markdown, batch_mode=mode)
        return render_template("requirements/index.html", **context), exc.status
    return batch_page(batch, _texts(markdown), status=201)


@bp.get("/requirements/batches/<batch_id>")
@page_login_required
def batch_view_page(batch_id: str):
    return batch_page(batches.get(current_tenant(), batch_id), {})


@bp.get("/requirements/batches/<batch_id>/stream")
@page_login_required
def batch_stream_page(batch_id: str):
    """The batch's Server-Sent Events (rows, progress, done) for the page's EventSource."""
    batch = batches.get(current_tenant(), batch_id)
    return sse_response(batch_stream.events(batch.id, after=resume_after()), retry_ms=batch_stream.RECONNECT_MS)


@bp.post("/requirements/batches/<batch_id>/cancel")
@page_login_required
def batch_cancel_page(batch_id: str):
    """The page's Cancel button: the batch stops after the row it is on; the stream shows it end."""
    batch = batches.cancel(current_tenant(), batch_id)
    if is_htmx():
        return render_template("partials/requirements/_canceled.html", batch=batch)
    return redirect(url_for("web.batch_view_page", batch_id=batch.id), code=303)


@bp.get("/requirements/batches/<batch_id>/export.<fmt>")
@page_login_required
def batch_export_page(batch_id: str, fmt: str):
    return attachment(render_export(batches.get(current_tenant(), batch_id), fmt))
