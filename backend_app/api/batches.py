"""Requirement batches: submit a markdown table, follow it (JSON or SSE), cancel it, export its results."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, jsonify, request, url_for

from backend_app.api import bp, doc
from backend_app.api.schemas import BINARY_FIELD, INTEGER, JOB_STATUS, STRING, ref, shape
from backend_app.auth import current_tenant, login_required
from backend_app.errors import ValidationError
from backend_app.http import attachment, resume_after, sse_response
from backend_app.models import RequirementBatch
from backend_app.services import sessions
from backend_app.services.requirements import batch as batches
from backend_app.services.requirements import criteria
from backend_app.services.requirements import stream as batch_stream
from backend_app.services.requirements.export import render_export
from backend_app.validation import fields, int_arg, json_value
from backend_app.variant import current_variant


def default_table(settings) -> bool:
    """Whether REQUIREMENTS_MD_PATH (default ./docs/requirements.md) names a file: then no body is needed."""
    return bool(settings.requirements_md_path) and Path(settings.requirements_md_path).is_file()


def batch_body(settings) -> dict:
    """A markdown table as JSON {markdown} (or a file upload); without a REQUIREMENTS_MD_PATH file the table is required."""
    markdown = {"type": "string", "minLength": 1, "description": "a table: id | requirementText | context"}
    return {
        "type": "object",
        "properties": {
            "markdown": markdown,
            "session_id": {"type": ["string", "null"]},
            "criteriaKeys": {"type": ["array", "null"], "items": {"type": "string", "enum": list(criteria.CRITERIA)}},
        },
        "required": [] if default_table(settings) else ["markdown"],
    }


def batch_form(settings) -> dict:
    """A file upload; without a REQUIREMENTS_MD_PATH file the file is required."""
    return {
        "type": "object",
        "properties": {"file": BINARY_FIELD, "session_id": {"type": "string"}},
        "required": [] if default_table(settings) else ["file"],
    }


BATCH_PARAMS = {
    "session_id": "a session of yours",
    "criteria": {
        "description": "comma-separated criteria keys",
        "type": "string",
        "pattern": "^,*(?:(?:" + "|".join(criteria.CRITERIA) + ")(?:,+|$))*$",
    },
}
SUBMIT_RESPONSES = {
    202: "Accepted: {batch_id, status, total_rows, rejected}",
    422: "TABLE_NOT_FOUND, TABLE_HEADER_INVALID, TABLE_SEPARATOR_MISSING, TABLE_EMPTY, "
    "BATCH_NO_VALID_ROWS, BATCH_INPUT_MISSING, UNKNOWN_CRITERIA",
    413: "PAYLOAD_TOO_LARGE",
}
BYTES_PER_ROW = 2048


def read_input() -> tuple[str, str, dict]:
    """(markdown, source, options) from a markdown body, JSON {markdown}, a file, or REQUIREMENTS_MD_PATH."""
    settings = current_app.config["SETTINGS"]
    request.max_content_length = max(settings.max_json_bytes, settings.max_batch_rows * BYTES_PER_ROW)
    options = {
        "session_id": request.args.get("session_id"),
        "criteriaKeys": [k for k in request.args.get("criteria", "").split(",") if k] or None,
    }
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        options["session_id"] = request.form.get("session_id") or options["session_id"]
        upload = request.files.get("file") or next(iter(request.files.values()), None)
        if upload is not None:
            return upload.read().decode("utf-8-sig", errors="replace"), "file", options
        if request.form.get("markdown"):
            return request.form["markdown"], "body", options
    elif request.is_json:
        data = json_value()
        if not isinstance(data, dict):
            raise ValidationError("The body must be a JSON object {markdown}.", code="MALFORMED_JSON")
        options.update(fields(data, optional={"session_id": str, "criteriaKeys": list}))
        if "markdown" in data:  # sent: a table, never a reason to fall back to the default one
            if not isinstance(data["markdown"], str) or not data["markdown"].strip():
                raise ValidationError(
                    "markdown must be a non-empty table (leave it out to run REQUIREMENTS_MD_PATH's table).",
                    details={"fields": {"markdown": "must be a non-empty string"}},
                )
            return data["markdown"], "json", options
    elif request.content_length:
        return request.get_data(as_text=True), "body", options
    path = settings.requirements_md_path
    if not path or not Path(path).is_file():
        raise ValidationError(
            "Send a markdown table (text/markdown body, JSON {markdown} or a file upload); "
            "REQUIREMENTS_MD_PATH names no readable file.",
            code="BATCH_INPUT_MISSING",
        )
    return Path(path).read_text(encoding="utf-8-sig"), "default_path", options


def submit_from_request(mode: str, given: tuple[str, str, dict] | None = None) -> RequirementBatch:
    """Submit the request's table (or ``given``: markdown, source, options) as a batch of ``mode``."""
    markdown, source, options = given or read_input()
    tenant = current_tenant()
    if options.get("session_id"):
        tenant = current_tenant(sessions.get(tenant, options["session_id"]).id)
    return batches.submit(
        tenant, mode, markdown, source=source, criteria_keys=options.get("criteriaKeys"), variant=current_variant()
    )


def submitted(batch: RequirementBatch) -> dict:
    """What a submission answers: {batch_id, status, mode, variant, total_rows, rejected}."""
    return {
        "batch_id": batch.id,
        "status": batch.to_dict()["status"],
        "mode": batch.mode,
        "variant": batch.variant,
        "total_rows": batch.total_rows,
        "rejected": batch.rejected,
    }


def _submit(mode: str):
    batch = submit_from_request(mode)
    return jsonify(submitted(batch)), 202, {"Location": url_for("api.get_batch", batch_id=batch.id)}


def _large(view):
    view._large_body = True  # the view sets its own limit from MAX_BATCH_ROWS
    return view


@bp.post("/batch/evaluate")
@doc(
    "Evaluate a markdown table of requirements in the background",
    tag="requirements",
    body=batch_body,
    form=batch_form,
    optional_body=default_table,
    responses=SUBMIT_RESPONSES,
    returns=ref("BatchSubmitted"),
    params=BATCH_PARAMS,
)
@_large
@login_required
def batch_evaluate():
    return _submit("evaluate")


@bp.post("/batch/suggest")
@doc(
    "Suggest fixes for a markdown table of requirements in the background",
    tag="requirements",
    body=batch_body,
    form=batch_form,
    optional_body=default_table,
    responses=SUBMIT_RESPONSES,
    returns=ref("BatchSubmitted"),
    params=BATCH_PARAMS,
)
@_large
@login_required
def batch_suggest():
    return _submit("suggest")


@bp.post("/batch/rewrite")
@doc(
    "Rewrite a markdown table of requirements in the background",
    tag="requirements",
    body=batch_body,
    form=batch_form,
    optional_body=default_table,
    responses=SUBMIT_RESPONSES,
    returns=ref("BatchSubmitted"),
    params=BATCH_PARAMS,
)
@_large
@login_required
def batch_rewrite():
    return _submit("rewrite")


@bp.get("/batch/<hexid:batch_id>")
@doc(
    "A batch: status, progress, counts and a page of results",
    tag="requirements",
    responses={200: "OK", 404: "BATCH_NOT_FOUND"},
    params={
        "offset": {"description": "first row index", "type": "integer", "minimum": 0, "maximum": 1_000_000},
        "limit": {"description": "rows (default 100)", "type": "integer", "minimum": 0, "maximum": 1000},
    },
    returns=shape({"id": {"type": "string"}, "status": {"type": "string"}, "results": {"type": "array"}}),
)
@login_required
def get_batch(batch_id: str):
    batch = batches.get(current_tenant(), batch_id)
    offset, limit = int_arg("offset", 0, high=1_000_000), int_arg("limit", 100, high=1000)
    body = batch.to_dict()
    body["results"] = [r.to_dict() for r in batches.results(batch, after=offset - 1, limit=limit)]
    return jsonify(body)


@bp.get("/batch/<hexid:batch_id>/stream")
@doc(
    "Server-Sent Events: rows as they finish, progress, then done",
    tag="requirements",
    responses={200: "text/event-stream", 404: "BATCH_NOT_FOUND"},
    media="text/event-stream",
)
@login_required
def stream_batch(batch_id: str):
    batch = batches.get(current_tenant(), batch_id)
    return sse_response(batch_stream.events(batch.id, after=resume_after()), retry_ms=batch_stream.RECONNECT_MS)


@bp.post("/batch/<hexid:batch_id>/cancel")
@doc(
    "Cancel a batch: a waiting one never starts, a running one stops after the row it is on; stored rows stay",
    tag="requirements",
    responses={200: "Canceled (also when it already was)", 404: "BATCH_NOT_FOUND", 409: "BATCH_FINISHED"},
    returns=shape({"id": STRING, "status": JOB_STATUS, "done_rows": INTEGER, "total_rows": INTEGER}),
)
@login_required
def cancel_batch(batch_id: str):
    return jsonify(batches.cancel(current_tenant(), batch_id).to_dict())


@bp.get("/batch/<hexid:batch_id>/export")
@doc(
    "Export a batch's results",
    tag="requirements",
    params={
        "format": {"description": "the file's format (default json)", "type": "string", "enum": ["csv", "json", "md"]}
    },
    responses={200: "The export file", 404: "BATCH_NOT_FOUND", 422: "EXPORT_FORMAT_INVALID"},
    media=["application/json", "text/csv", "text/markdown"],
)
@login_required
def export_batch(batch_id: str):
    batch = batches.get(current_tenant(), batch_id)
    return attachment(render_export(batch, request.args.get("format", "json")))
