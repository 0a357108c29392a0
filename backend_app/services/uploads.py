"""One way in for every upload: a document type goes to services/documents/uploads.py, anything
else to the video uploads (services/video/uploads.py), whose refusals name the video types.

The API's and the compatibility routes' upload views call these, so a client uses the same
init → PUT → complete (or one multipart request) for a video and for a document; the answer
names what was created (``analysis_id`` or ``document_id``). A type neither takes is refused as
"not a supported video or document type", listing both kinds of types.
"""

from __future__ import annotations

from typing import IO, Any

from backend_app.errors import AppError, ValidationError
from backend_app.models import Analysis, Document
from backend_app.services.documents import policy as document_policy
from backend_app.services.documents import uploads as document_uploads
from backend_app.services.video import uploads as video_uploads
from backend_app.tenancy import Tenant


def is_document(filename: str, content_type: str | None) -> bool:
    """Whether a declared upload is a document."""
    return document_policy.is_document(content_type, filename or "")


def _either(refusal: AppError) -> AppError:
    """A type neither way takes: the video refusal, worded for both (and listing both)."""
    if refusal.code != "UNSUPPORTED_FORMAT" or refusal.details.get("reason") != "content_type":
        return refusal
    value = refusal.details.get("content_type")
    allowed = [*refusal.details.get("allowed", []), *document_policy.TYPES]
    details = {**refusal.details, "allowed": allowed}
    return AppError(
        f"{value!r} is not a supported video or document type.", code=refusal.code, status=415, details=details
    )


def init(tenant: Tenant, *, filename: str, content_type: str, file_size: int, session_id: str) -> dict[str, Any]:
    """Declare an upload: ``{analysis_id | document_id, upload_url, method, headers, expires_in}``."""
    args = {"filename": filename, "content_type": content_type, "file_size": file_size, "session_id": session_id}
    if is_document(filename, content_type):
        return document_uploads.init(tenant, **args)
    try:
        return video_uploads.init(tenant, **args)
    except AppError as refusal:
        raise _either(refusal) from None


def complete(tenant: Tenant, *, analysis_id: str | None = None, document_id: str | None = None) -> Analysis | Document:
    """Finish an upload named by exactly one of its ids."""
    if bool(analysis_id) == bool(document_id):
        raise ValidationError(
            "Send the analysis_id or the document_id that init returned (one of them).",
            details={"fields": {"analysis_id": "one of analysis_id, document_id is required"}},
        )
    if document_id:
        return document_uploads.complete(tenant, document_id)
    return video_uploads.complete(tenant, analysis_id)


def one_shot(
    tenant: Tenant, *, session_id: str, filename: str, content_type: str | None, stream: IO[bytes]
) -> Analysis | Document:
    """A whole file in one request, video or document."""
    args = {"session_id": session_id, "filename": filename, "content_type": content_type, "stream": stream}
    if is_document(filename, content_type):
        return document_uploads.one_shot(tenant, **args)
    try:
        return video_uploads.one_shot(tenant, **args)
    except AppError as refusal:
        raise _either(refusal) from None


def accepted(item: Analysis | Document) -> dict[str, Any]:
    """What a completed upload answers: its id under its own name, and its status."""
    name = "document_id" if isinstance(item, Document) else "analysis_id"
    return {name: item.id, "status": item.job.status if item.job else None}
