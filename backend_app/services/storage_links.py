"""The local storage backend's signed links: PUT to upload, GET to download.

The token in the link is the permission (HMAC-signed with SECRET_KEY, expiring; see
``adapters/storage.py``), so no sign-in is needed. A tampered or expired token is a coded 403.
With the S3 backend clients talk to S3, and these links are not ours: a 404.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app

from backend_app import filenames
from backend_app.adapters.storage import LocalStorage, ObjectNotFound, UploadTooLarge, get_storage, verify_token
from backend_app.errors import AppError, NotFound
from backend_app.observability import bind_log_ids
from backend_app.services.documents import uploads as document_uploads
from backend_app.services.video import uploads


@dataclass(frozen=True)
class LocalFile:
    """A stored file on this machine's disk, for the view to send (with Range support)."""

    path: Path
    mimetype: str
    filename: str | None  # set: a download saved under this name; None: shown inline


def _local() -> LocalStorage:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        raise NotFound("Signed links are served only by the local storage backend.", code="NOT_FOUND")
    return storage


def _claims(token: str, method: str) -> dict[str, Any]:
    claims = verify_token(current_app.config["SETTINGS"].secret_key, token, method)
    # users/<user_id>/analyses/<analysis_id>/…: the request's log lines name whose file it is
    parts = claims["k"].split("/")
    if len(parts) > 3 and parts[0] == "users":
        bind_log_ids(user_id=parts[1], analysis_id=parts[3] if parts[2] == "analyses" else None)
    return claims


def receive_upload(token: str, stream: IO[bytes], length: int | None, chunked: bool) -> None:
    """Store the body sent to a signed upload link, no larger than the upload declared."""
    storage = _local()
    claims = _claims(token, "PUT")
    if document_uploads.is_upload_key(claims["k"]):
        document_uploads.check_upload_open(claims["k"])
    else:
        uploads.check_upload_open(claims["k"])
    declared = claims.get("n")
    if declared is not None and length is not None and length > declared:
        raise UploadTooLarge(details={"declared": declared, "sent": length})
    if declared is not None and length is None and not chunked:
        raise AppError("Send a Content-Length header.", code="LENGTH_REQUIRED", status=411)
    limit = declared if declared is not None else current_app.config["SETTINGS"].max_upload_bytes
    written = storage.put_stream(claims["k"], stream, claims.get("t"), max_bytes=limit)
    if declared is not None and written != declared:
        storage.delete(claims["k"])
        raise AppError(
            f"Received {written} bytes; the upload declared {declared}.",
            code="UPLOAD_SIZE_MISMATCH",
            status=400,
            details={"declared": declared, "received": written},
        )


def signed_file(token: str) -> LocalFile:
    """The file a signed download link points at."""
    storage = _local()
    claims = _claims(token, "GET")
    key, filename = claims["k"], claims.get("f")
    path = storage.path_for(key)
    if not path.is_file():
        raise ObjectNotFound(details={"key": key})
    mimetype = mimetypes.guess_type(filename or key)[0] or "application/octet-stream"
    # Names stored before bidi characters were stripped at upload are cleaned on the way out too.
    return LocalFile(path, mimetype, (filenames.clean(filename) or "download") if filename else None)
