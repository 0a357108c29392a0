"""The routes of the systems Framewise replaces, mapped onto the v1 services (OpenAPI tag "compatibility").

Same method, path and body as the originals, so their clients and smoke tests keep working once
they send an API key (``X-API-Key: fw_…``) or a token. Nothing here is a second implementation:
each view parses the original body and calls the service its v1 route calls.

- ``POST /upload/init {filename, content_type, file_size[, session_id]}`` is v1's signed direct
  upload. The originals had no sessions: without ``session_id`` the upload goes to the user's
  default session (named "Default", made on first use). Answers v1's fields plus ``session_id``.
  A document type (PDF, DOCX, …) is a document upload, as on v1: the answer names ``document_id``.
- ``POST /upload/complete {analysis_id}``: v1's complete (checks the bytes, queues the analysis);
  ``{document_id}`` for a document.
- ``GET /upload/status/<analysis_id>``: v1's status, with ``analysis_id`` as the originals named it.
- ``POST /analyze {analysis_id}``: starts the analysis of an uploaded file. Framewise queues it when
  the upload completes, so this completes an upload still waiting, retries a failed or canceled
  one, and otherwise reports the analysis as it is; calling it again changes nothing.
- ``POST /api/v1/validate/batch`` (+ ``/stream``): a requirements batch (evaluate), from the
  original ``{requirements: [{id, requirementText, context}]}`` or anything ``/batch/evaluate``
  takes (markdown body, ``{markdown}``, a file, REQUIREMENTS_MD_PATH); ``/stream`` submits and then
  streams the batch's events (``batch``, then ``row`` / ``progress`` / ``done``) as SSE.
- ``POST /api/v1/vector/search {query[, top_k, session_id]}``: the chat's retrieval (full-text
  ranking, not embeddings; ``services/chat/retrieval.py``); ``GET /api/v1/vector/stats``: the index stats.

The originals answered 200 where v1 answers 201 or 202; these routes do too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from flask import Blueprint, jsonify, request

from backend_app.api import doc, obj
from backend_app.api.batches import (
    SUBMIT_RESPONSES,
    batch_body,
    batch_form,
    default_table,
    submit_from_request,
    submitted,
)
from backend_app.api.schemas import ref, shape, text
from backend_app.api.uploads import INIT_REFUSALS, UPLOAD_TICKET, init_body
from backend_app.auth import current_tenant, current_user, login_required
from backend_app.errors import ValidationError
from backend_app.http import sse_response
from backend_app.models.job import CANCELED, FAILED, PENDING_UPLOAD
from backend_app.services import sessions
from backend_app.services import uploads as intake
from backend_app.services.chat import index_status, retrieval
from backend_app.services.chat.search import MAX_LIMIT
from backend_app.services.requirements import stream as batch_stream
from backend_app.services.requirements.markdown import render
from backend_app.services.video import analyses, uploads
from backend_app.validation import fields, json_body, json_value

bp = Blueprint("compat", __name__)
TAG = "compatibility"
ANALYSIS = obj({"analysis_id": text()})
STARTED = shape({"analysis_id": {"type": "string"}, "status": {"type": ["string", "null"]}})


def _compat_init_body(settings) -> dict:
    body = init_body(settings, documents=True)
    body["required"] = [name for name in body["required"] if name != "session_id"]
    body["properties"]["session_id"] = {"type": ["string", "null"], "description": "default: your 'Default' session"}
    return body


def _started(analysis) -> dict:
    return {"analysis_id": analysis.id, "status": analysis.job.status if analysis.job else None}


@bp.post("/upload/init")
@doc(
    "Original: declare an upload (v1 POST /api/v1/uploads/init; no session_id: your default session)",
    tag=TAG,
    body=_compat_init_body,
    returns=shape(
        {**{k: v for k, v in UPLOAD_TICKET.items() if k != "analysis_id"}, "session_id": {"type": "string"}},
        {"analysis_id": {"type": "string"}, "document_id": {"type": "string"}},
    ),
    responses={
        200: "{analysis_id | document_id, upload_url, method, headers, expires_in, session_id}",
        **INIT_REFUSALS,
        429: "QUOTA_UPLOADS_PER_HOUR, QUOTA_CONCURRENT_JOBS or RATE_LIMITED",
    },
)
@login_required
def upload_init():
    data = fields(json_body(), {"filename": str, "content_type": str, "file_size": int}, {"session_id": str})
    tenant = current_tenant()
    session_id = data.pop("session_id", None) or sessions.default_for(tenant).id
    ticket = intake.init(tenant, session_id=session_id, **data)
    return jsonify({**ticket, "session_id": session_id})


@bp.post("/upload/complete")
@doc(
    "Original: finish an upload and queue its analysis (v1 POST /api/v1/uploads/complete)",
    tag=TAG,
    body=obj(optional={"analysis_id": text(), "document_id": text()}),
    returns={"anyOf": [STARTED, ref("DocumentAccepted")]},
    responses={
        200: "{analysis_id | document_id, status}",
        404: "ANALYSIS_NOT_FOUND or DOCUMENT_NOT_FOUND",
        409: "UPLOAD_INCOMPLETE",
        415: "UNSUPPORTED_FORMAT",
        422: "EMPTY_FILE, UPLOAD_SIZE_MISMATCH, DOCUMENT_ZIP_BOMB, DOCUMENT_CORRUPT or VALIDATION_ERROR",
    },
)
@login_required
def upload_complete():
    data = fields(json_body(), optional={"analysis_id": str, "document_id": str})
    return jsonify(intake.accepted(intake.complete(current_tenant(), **data)))


@bp.get("/upload/status/<analysis_id>")
@doc(
    "Original: status of an upload and its analysis (v1 GET /api/v1/uploads/status/<id>)",
    tag=TAG,
    returns=shape(
        {
            "analysis_id": {"type": "string"},
            "status": {"type": "string"},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        },
        {"stage": {"type": ["string", "null"]}, "eta_s": {"type": ["number", "null"]}},
    ),
    responses={
        200: "{analysis_id, status, stage, progress, eta_s, error_code, error_message, …}",
        404: "ANALYSIS_NOT_FOUND",
    },
)
@login_required
def upload_status(analysis_id: str):
    status = analyses.status_dict(analyses.get(current_tenant(), analysis_id))
    return jsonify({"analysis_id": status["id"], **status})


@bp.post("/analyze")
@doc(
    "Original: start the analysis of an uploaded file (completes a waiting upload, retries a failed one, "
    "else reports it as it is)",
    tag=TAG,
    body=ANALYSIS,
    returns=STARTED,
    responses={
        200: "{analysis_id, status}",
        404: "ANALYSIS_NOT_FOUND",
        409: "UPLOAD_INCOMPLETE, SOURCE_MISSING or JOB_NOT_RETRYABLE",
        415: "UNSUPPORTED_FORMAT",
        422: "EMPTY_FILE, UPLOAD_SIZE_MISMATCH or VALIDATION_ERROR",
    },
)
@login_required
def analyze():
    data = fields(json_body(), {"analysis_id": str})
    tenant = current_tenant()
    analysis = analyses.get(tenant, data["analysis_id"])
    status = analysis.job.status if analysis.job else None
    if status == PENDING_UPLOAD:
        analysis = uploads.complete(tenant, analysis.id)
    elif status in (FAILED, CANCELED):
        analysis = analyses.retry(tenant, analysis.id)
    return jsonify(_started(analysis))


# --- requirements: the original batch validation ----------------------------------------------

REQUIREMENT_ITEM = {
    "type": "object",
    "required": ["requirementText"],
    "properties": {
        "id": {"type": ["string", "integer", "null"]},
        "requirementText": text(),
        "context": {"type": ["object", "null"]},
    },
}


def _validate_body(settings) -> dict:
    body = batch_body(settings)
    body["properties"]["requirements"] = {"type": "array", "items": REQUIREMENT_ITEM, "minItems": 1}
    body["properties"]["markdown"] = {**body["properties"]["markdown"], "type": ["string", "null"]}  # null: absent
    # {requirements} or {markdown}; neither: the table at REQUIREMENTS_MD_PATH (when it is set).
    body["required"] = []
    if not default_table(settings):
        body["anyOf"] = [{"required": ["requirements"]}, {"required": ["markdown"]}]
    return body


def _given_table() -> tuple[str, str, dict] | None:
    """The original body ``{requirements: [{id, requirementText, context}]}`` as the batch table."""
    if not request.is_json:
        return None
    data = json_value()
    if not isinstance(data, dict) or data.get("requirements") is None:
        return None
    items = data["requirements"]
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise ValidationError(details={"fields": {"requirements": "must be a list of {id, requirementText, context}"}})
    rows = []
    for number, item in enumerate(items, 1):
        got = fields(item, {"requirementText": str}, {"context": dict})
        key = item.get("id")
        if isinstance(key, bool) or not isinstance(key, str | int | None):
            raise ValidationError(
                details={"fields": {f"requirements.{number - 1}.id": "must be a string or an integer"}}
            )
        rows.append([key if key is not None else f"R{number}", got["requirementText"], _context(got.get("context"))])
    options = fields(data, optional={"session_id": str, "criteriaKeys": list, "markdown": str})
    if options.pop("markdown", None) == "":
        raise ValidationError(details={"fields": {"markdown": "must not be empty (or left out)"}})
    return render(["id", "requirementText", "context"], rows), "json", options


def _context(value: dict | None) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ""


@bp.post("/api/v1/validate/batch")
@doc(
    "Original: validate a batch of requirements in the background (v1 POST /api/v1/batch/evaluate); "
    "follow it at GET /api/v1/batch/<batch_id>",
    tag=TAG,
    body=_validate_body,
    form=batch_form,
    optional_body=True,
    responses={200: "{batch_id, status, mode, variant, total_rows, rejected}", **SUBMIT_RESPONSES},
    returns=ref("BatchSubmitted"),
)
@login_required
def validate_batch():
    return jsonify(submitted(submit_from_request("evaluate", _given_table())))


validate_batch._large_body = True  # the batch input sets its own limit from MAX_BATCH_ROWS


def _submitted_then_events(batch) -> Iterator:
    yield "batch", submitted(batch)
    yield from batch_stream.events(batch.id)


@bp.post("/api/v1/validate/batch/stream")
@doc(
    "Original: validate a batch and stream it as Server-Sent Events: batch {batch_id, …}, then row, progress "
    "and done (v1: POST /api/v1/batch/evaluate, then GET /api/v1/batch/<id>/stream)",
    tag=TAG,
    body=_validate_body,
    form=batch_form,
    optional_body=True,
    responses={200: "text/event-stream", **SUBMIT_RESPONSES},
    media="text/event-stream",
)
@login_required
def validate_batch_stream():
    batch = submit_from_request("evaluate", _given_table())  # refusals are answered before the stream starts
    return sse_response(_submitted_then_events(batch))


validate_batch_stream._large_body = True


# --- the original vector search: the chat's retrieval -------------------------------------------

SEARCH_BODY = obj(
    {"query": text(retrieval.MAX_QUERY_CHARS)},
    {"top_k": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "session_id": "string"},
)
PASSAGE = shape(
    {
        "analysis_id": {"type": "string"},
        "shot": {"type": "integer"},
        "start_s": {"type": "number"},
        "end_s": {"type": "number"},
        "snippet": {"type": "string"},
        "score": {"type": "number"},
    },
    {"session_id": {"type": "string"}, "filename": {"type": ["string", "null"]}},
)


@bp.post("/api/v1/vector/search")
@doc(
    "Original: search your analysed videos (the chat's retrieval, scoped to you and optionally one session; "
    "full-text ranked): the best shots with a snippet and a score",
    tag=TAG,
    body=SEARCH_BODY,
    returns=shape({"query": {"type": "string"}, "results": {"type": "array", "items": PASSAGE}}),
    responses={200: "{query, results}", 404: "SESSION_NOT_FOUND", 422: "VALIDATION_ERROR"},
)
@login_required
def vector_search():
    data = fields(json_body(), {"query": str}, {"top_k": int, "session_id": str})
    results = retrieval.passages(
        current_user().id, data["query"], session_id=data.get("session_id") or None, top_k=data.get("top_k", 5)
    )
    return jsonify({"query": data["query"], "results": results})


@bp.get("/api/v1/vector/stats")
@doc(
    "Original: what the search index holds for you (v1 GET /api/v1/index/stats)",
    tag=TAG,
    returns=shape(
        {"analyses": {"type": "integer"}, "documents": {"type": "integer"}, "shots": {"type": "integer"}},
        {"sessions": {"type": "array"}},
    ),
)
@login_required
def vector_stats():
    return jsonify(index_status.stats(current_tenant()))
