"""Study material of a document or of a whole session: request it, read it, export it, review its cards."""

from __future__ import annotations

from flask import jsonify, request, url_for

from backend_app.api import bp, doc
from backend_app.api.schemas import BOOLEAN, INTEGER, NULLABLE_STRING, STRING, shape
from backend_app.auth import current_tenant, login_required
from backend_app.http import attachment
from backend_app.services.study import export, material, reviews
from backend_app.validation import fields, json_body

PAGE = {"type": "integer", "minimum": 1}
_ITEMS = {
    "key_terms": shape({"term": STRING, "definition": STRING, "page": PAGE}, {"document_id": STRING}),
    "flashcards": shape({"question": STRING, "answer": STRING, "page": PAGE}, {"document_id": STRING}),
    "quiz": shape(
        {"question": STRING, "options": {"type": "array", "items": STRING}, "answer": STRING, "page": PAGE},
        {"document_id": STRING},
    ),
}
MATERIAL = shape(
    {"summary": STRING, **{k: {"type": "array", "items": v} for k, v in _ITEMS.items()}, "status": STRING},
    {
        "id": STRING,
        "scope": {"type": "string", "enum": ["document", "session"]},
        "provider": NULLABLE_STRING,
        "progress": INTEGER,
        "fallback": {"type": ["object", "null"]},
    },
)
REQUESTED = shape({"material_id": STRING, "status": STRING, "cached": BOOLEAN}, {"job_id": NULLABLE_STRING})
EXPORT_PARAMS = {
    "part": {
        "description": "flashcards (tsv, csv) or quiz (json, md)",
        "type": "string",
        "enum": ["flashcards", "quiz"],
    },
    "format": {"description": "the file's format", "type": "string", "enum": ["tsv", "csv", "json", "md"]},
}
REVIEW_BODY = {
    "type": "object",
    "required": ["card", "knew"],
    "properties": {"card": {"type": "string", "minLength": 1, "maxLength": 64}, "knew": {"type": "boolean"}},
}
ERRORS = "DOCUMENT_NOT_FOUND / SESSION_NOT_FOUND"


def _requested(scope: str, target_id: str):
    row, cached = material.request(current_tenant(), scope, target_id)
    body = {"material_id": row.id, "status": row.state()["status"], "cached": cached, "job_id": row.job_id}
    endpoint = "api.get_document_study" if scope == "document" else "api.get_session_study"
    key = "document_id" if scope == "document" else "session_id"
    return jsonify(body), 202, {"Location": url_for(endpoint, **{key: target_id})}


def _review(scope: str, target_id: str):
    tenant = current_tenant()
    body = fields(json_body(), {"card": str, "knew": bool})
    row = material.get(tenant, scope, target_id)
    review = reviews.record(tenant, row, body["card"], body["knew"])
    return jsonify({**review.to_dict(), "counts": reviews.counts(tenant, row)})


def _export(scope: str, target_id: str):
    row = material.get(current_tenant(), scope, target_id)
    return attachment(export.render(row, request.args.get("part", "flashcards"), request.args.get("format", "tsv")))


@bp.post("/documents/<hexid:document_id>/study")
@doc(
    "Make study material (summary, key terms, flashcards, quiz) from a document, in the background",
    tag="study",
    responses={
        202: "Accepted (or answered from the cache: cached true, status completed)",
        404: "DOCUMENT_NOT_FOUND",
        409: "DOCUMENT_NOT_READY",
        422: "STUDY_NO_TEXT",
    },
    returns=REQUESTED,
)
@login_required
def request_document_study(document_id: str):
    return _requested("document", document_id)


@bp.get("/documents/<hexid:document_id>/study")
@doc(
    "A document's study material; every item cites the page holding its answer",
    tag="study",
    responses={200: "OK (status says whether it is made yet)", 404: f"{ERRORS} / STUDY_NOT_FOUND"},
    returns=MATERIAL,
)
@login_required
def get_document_study(document_id: str):
    return jsonify(material.get(current_tenant(), "document", document_id).to_dict())


@bp.post("/sessions/<hexid:session_id>/study")
@doc(
    "Make study material from all of a session's extracted documents, in the background",
    tag="study",
    responses={202: "Accepted (or answered from the cache)", 404: "SESSION_NOT_FOUND", 422: "STUDY_NO_TEXT"},
    returns=REQUESTED,
)
@login_required
def request_session_study(session_id: str):
    return _requested("session", session_id)


@bp.get("/sessions/<hexid:session_id>/study")
@doc(
    "A session's study material; every item names its document and page",
    tag="study",
    responses={200: "OK", 404: f"{ERRORS} / STUDY_NOT_FOUND"},
    returns=MATERIAL,
)
@login_required
def get_session_study(session_id: str):
    return jsonify(material.get(current_tenant(), "session", session_id).to_dict())


@bp.get("/documents/<hexid:document_id>/study/export")
@doc(
    "Export a document's flashcards (Anki TSV, CSV) or quiz (JSON, Markdown)",
    tag="study",
    params=EXPORT_PARAMS,
    responses={200: "The export file", 404: f"{ERRORS} / STUDY_NOT_FOUND", 422: "EXPORT_FORMAT_INVALID"},
    media=["text/tab-separated-values", "text/csv", "application/json", "text/markdown"],
)
@login_required
def export_document_study(document_id: str):
    return _export("document", document_id)


@bp.get("/sessions/<hexid:session_id>/study/export")
@doc(
    "Export a session's flashcards (Anki TSV, CSV) or quiz (JSON, Markdown)",
    tag="study",
    params=EXPORT_PARAMS,
    responses={200: "The export file", 404: f"{ERRORS} / STUDY_NOT_FOUND", 422: "EXPORT_FORMAT_INVALID"},
    media=["text/tab-separated-values", "text/csv", "application/json", "text/markdown"],
)
@login_required
def export_session_study(session_id: str):
    return _export("session", session_id)


@bp.post("/documents/<hexid:document_id>/study/reviews")
@doc(
    "Record a flashcard review (knew it or again): its Leitner box and when it is due next",
    tag="study",
    body=REVIEW_BODY,
    responses={200: "OK", 404: f"{ERRORS} / STUDY_NOT_FOUND / FLASHCARD_NOT_FOUND"},
    returns=shape({"box": INTEGER, "due_at": STRING}),
)
@login_required
def review_document_card(document_id: str):
    return _review("document", document_id)


@bp.post("/sessions/<hexid:session_id>/study/reviews")
@doc(
    "Record a review of one of a session's flashcards",
    tag="study",
    body=REVIEW_BODY,
    responses={200: "OK", 404: f"{ERRORS} / STUDY_NOT_FOUND / FLASHCARD_NOT_FOUND"},
    returns=shape({"box": INTEGER, "due_at": STRING}),
)
@login_required
def review_session_card(session_id: str):
    return _review("session", session_id)
