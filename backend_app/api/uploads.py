"""Uploads: signed direct uploads (init → PUT → complete), their status, and one-shot multipart."""

from __future__ import annotations

from flask import current_app, jsonify, request

from backend_app.api import bp, doc, obj
from backend_app.api.schemas import BINARY_FIELD, ref, shape, text
from backend_app.auth import current_tenant, login_required
from backend_app.errors import ValidationError
from backend_app.services import uploads
from backend_app.services.documents import policy as document_policy
from backend_app.services.video import analyses
from backend_app.services.video import policy as video_policy
from backend_app.validation import fields, json_body

MULTIPART_SLACK = 1 << 20  # room for the form's boundaries and other fields


def init_body(settings, *, documents: bool = False) -> dict:
    allowed = ", ".join(settings.upload_allowed_types)
    described = f"The video's type: {allowed}"
    examples = list(settings.upload_allowed_types)
    if documents:
        described = f"The video's type ({allowed}) or the document's ({', '.join(document_policy.TYPES)})"
        examples += list(document_policy.TYPES)
    content_type = {
        **text(),
        "description": f"{described} (other names of these, any case, with parameters, are accepted; "
        "a generic application/octet-stream is guessed from the filename); anything else is a 415",
        "examples": examples,
    }
    return obj(
        {
            "filename": text(),
            "content_type": content_type,
            "file_size": {"type": "integer", "minimum": 1, "maximum": settings.max_upload_bytes},
            "session_id": text(),
        }
    )


UPLOAD_FORM = obj({"file": BINARY_FIELD, "session_id": text()})


def _accepted(item):
    return jsonify(uploads.accepted(item)), 202


def v1_init_body(settings) -> dict:
    return init_body(settings, documents=True)


# Where to PUT the bytes (the answer of an upload's init, here and on the compatibility route).
UPLOAD_TICKET = {
    "analysis_id": {"type": "string"},
    "upload_url": {"type": "string"},
    "method": {"type": "string"},
    "headers": {"type": "object"},
    "expires_in": {"type": "integer"},
}
# A document's ticket names the document instead (``document_id``).
V1_TICKET = shape(
    {name: schema for name, schema in UPLOAD_TICKET.items() if name != "analysis_id"},
    {"analysis_id": {"type": "string"}, "document_id": {"type": "string"}},
)
ACCEPTED = {"anyOf": [ref("Accepted"), ref("DocumentAccepted")]}
INIT_REFUSALS = {
    404: "SESSION_NOT_FOUND",
    413: "VIDEO_TOO_LARGE or DOCUMENT_TOO_LARGE",
    415: "UNSUPPORTED_FORMAT",
    422: "EMPTY_FILE or VALIDATION_ERROR",
}


@bp.post("/uploads/init")
@doc(
    "Declare an upload (a video, or a document: PDF, DOCX, PPTX, ODT, Markdown, text, PNG/JPEG page); "
    "returns where to PUT the bytes",
    tag="uploads",
    body=v1_init_body,
    returns=V1_TICKET,
    responses={
        201: "Created: {analysis_id | document_id, upload_url, method, headers, expires_in}",
        **INIT_REFUSALS,
    },
)
@login_required
def init_upload():
    data = fields(json_body(), {"filename": str, "content_type": str, "file_size": int, "session_id": str})
    return jsonify(uploads.init(current_tenant(), **data)), 201


@bp.post("/uploads/complete")
@doc(
    "Finish an upload: check the stored file and queue its analysis (or its document's extraction)",
    tag="uploads",
    body=obj(optional={"analysis_id": text(), "document_id": text()}),
    returns=ACCEPTED,
    responses={
        202: "Queued: {analysis_id | document_id, status}",
        404: "ANALYSIS_NOT_FOUND or DOCUMENT_NOT_FOUND",
        409: "UPLOAD_INCOMPLETE",
        415: "UNSUPPORTED_FORMAT",
        422: "EMPTY_FILE, UPLOAD_SIZE_MISMATCH, DOCUMENT_ZIP_BOMB, DOCUMENT_CORRUPT or VALIDATION_ERROR "
        "(neither or both ids)",
    },
)
@login_required
def complete_upload():
    data = fields(json_body(), optional={"analysis_id": str, "document_id": str})
    return _accepted(uploads.complete(current_tenant(), **data))


@bp.get("/uploads/status/<analysis_id>")
@doc(
    "Status of an upload and its analysis",
    tag="uploads",
    responses={200: "OK", 404: "ANALYSIS_NOT_FOUND"},
    returns=ref("AnalysisStatus"),
)
@login_required
def upload_status(analysis_id: str):
    return jsonify(analyses.status_dict(analyses.get(current_tenant(), analysis_id)))


@bp.post("/uploads")
@doc(
    "Upload a video or a document in one multipart request (fields: file, session_id)",
    tag="uploads",
    form=UPLOAD_FORM,
    returns=ACCEPTED,
    responses={
        202: "Queued: {analysis_id | document_id, status}",
        404: "SESSION_NOT_FOUND",
        413: "VIDEO_TOO_LARGE or DOCUMENT_TOO_LARGE",
        415: "UNSUPPORTED_FORMAT",
        422: "EMPTY_FILE, DOCUMENT_ZIP_BOMB, DOCUMENT_CORRUPT or VALIDATION_ERROR",
    },
)
@login_required
def upload_file():
    limit = current_app.config["SETTINGS"].max_upload_bytes
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        raise video_policy.refusal(
            "VIDEO_TOO_LARGE", f"The file is larger than the {limit} bytes allowed.", limit=limit
        )
    request.max_content_length = limit + MULTIPART_SLACK
    upload = request.files.get("file")
    session_id = request.form.get("session_id", "").strip()
    if upload is None or not session_id:
        missing = {name: "is required" for name, value in (("file", upload), ("session_id", session_id)) if not value}
        raise ValidationError("Send multipart/form-data with a file and a session_id.", details={"fields": missing})
    item = uploads.one_shot(
        current_tenant(),
        session_id=session_id,
        filename=upload.filename or "",
        content_type=upload.mimetype,
        stream=upload.stream,
    )
    return _accepted(item)


upload_file._large_body = True
