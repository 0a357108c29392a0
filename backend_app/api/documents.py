"""Documents: list, status with pages, one page (text, headings), its thumbnail, retry, delete (tenant-scoped).

Uploading a document goes through /uploads (init → PUT → complete, or one multipart request).
"""

from __future__ import annotations

from flask import jsonify, request

from backend_app.api import bp, doc
from backend_app.api.schemas import list_of, ref
from backend_app.auth import current_tenant, login_required
from backend_app.http import image
from backend_app.services.documents import documents
from backend_app.validation import int_arg

NOT_FOUND = {404: "DOCUMENT_NOT_FOUND"}
PAGE = {"number": {"type": "integer", "minimum": 1}}


@bp.get("/documents")
@doc(
    "List your documents",
    tag="documents",
    params={
        "session_id": "only this session",
        "limit": {"description": "at most this many (default 200)", "type": "integer", "minimum": 1, "maximum": 500},
    },
    responses={200: "OK", 404: "SESSION_NOT_FOUND", 422: "VALIDATION_ERROR"},
    returns=list_of("documents", ref("DocumentStatus")),
)
@login_required
def list_documents():
    tenant = current_tenant()
    found = documents.list_for(
        tenant, session_id=request.args.get("session_id") or None, limit=int_arg("limit", 200, low=1, high=500)
    )
    return jsonify({"documents": [documents.status_dict(tenant, d) for d in found]})


@bp.get("/documents/<document_id>")
@doc(
    "Status of one document and a summary of its pages (number, words, ocr, language)",
    tag="documents",
    responses={200: "OK", **NOT_FOUND},
    returns=ref("DocumentStatus"),
)
@login_required
def get_document(document_id: str):
    tenant = current_tenant()
    return jsonify(documents.status_dict(tenant, documents.get(tenant, document_id)))


@bp.get("/documents/<document_id>/pages/<int:number>")
@doc(
    "One page of a document: its text, headings, words, language, whether it was OCR'd (pages count from 1)",
    tag="documents",
    path=PAGE,
    responses={200: "OK", 409: "DOCUMENT_NOT_READY", 404: "DOCUMENT_NOT_FOUND or PAGE_NOT_FOUND"},
    returns=ref("DocumentPage"),
)
@login_required
def get_document_page(document_id: str, number: int):
    return jsonify(documents.page(current_tenant(), document_id, number).to_dict())


@bp.get("/documents/<document_id>/pages/<int:number>/thumbnail")
@doc(
    "A page's thumbnail (JPEG; PDF pages and page images)",
    tag="documents",
    path=PAGE,
    responses={200: "image/jpeg", 404: "DOCUMENT_NOT_FOUND or THUMBNAIL_NOT_FOUND"},
    media="image/jpeg",
)
@login_required
def get_document_thumbnail(document_id: str, number: int):
    return image(documents.thumbnail(current_tenant(), document_id, number))


@bp.post("/documents/<document_id>/retry")
@doc(
    "Retry a failed extraction",
    tag="documents",
    responses={
        202: "Queued",
        409: "JOB_NOT_RETRYABLE (a retry cannot change the failure, e.g. DOCUMENT_ENCRYPTED) or SOURCE_MISSING",
        **NOT_FOUND,
    },
    returns=ref("DocumentStatus"),
)
@login_required
def retry_document(document_id: str):
    tenant = current_tenant()
    return jsonify(documents.status_dict(tenant, documents.retry(tenant, document_id))), 202


@bp.delete("/documents/<document_id>")
@doc("Delete a document, its pages, files and job", tag="documents", responses={204: "Deleted", **NOT_FOUND})
@login_required
def delete_document(document_id: str):
    documents.delete(current_tenant(), document_id)
    return "", 204
