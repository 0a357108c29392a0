"""The local storage backend's signed URLs: PUT to upload, GET to download.

The token in the path is the permission (HMAC-signed with SECRET_KEY, expiring), so these
routes need no login: they are what ``presign_put``/``presign_get`` hand out. A tampered or
expired token is a coded 403. With the S3 backend, clients talk to S3 and these routes 404.
"""

from __future__ import annotations

import mimetypes

from flask import current_app, request, send_file

from backend_app.adapters.storage import LocalStorage, ObjectNotFound, UploadTooLarge, get_storage, verify_token
from backend_app.api import bp, doc
from backend_app.errors import AppError, NotFound
from backend_app.services.video import uploads


def _local() -> LocalStorage:
    storage = get_storage()
    if not isinstance(storage, LocalStorage):
        raise NotFound("Signed links are served only by the local storage backend.", code="NOT_FOUND")
    return storage


def _claims(method: str) -> dict:
    token = request.view_args["token"]
    return verify_token(current_app.config["SETTINGS"].secret_key, token, method)


@bp.put("/storage/<token>")
@doc(
    "Upload the bytes of a signed upload link (local storage)",
    tag="storage",
    auth="none",
    responses={
        201: "Stored",
        403: "SIGNATURE_INVALID or SIGNATURE_EXPIRED",
        411: "LENGTH_REQUIRED",
        413: "UPLOAD_TOO_LARGE",
        400: "UPLOAD_SIZE_MISMATCH",
        409: "UPLOAD_CLOSED",
    },
)
def signed_put(token: str):
    storage = _local()
    claims = _claims("PUT")
    uploads.check_upload_open(claims["k"])
    declared = claims.get("n")
    length = request.content_length
    if declared is not None and length is not None and length > declared:
        raise UploadTooLarge(details={"declared": declared, "sent": length})
    if declared is not None and length is None and not request.headers.get("Transfer-Encoding"):
        raise AppError("Send a Content-Length header.", code="LENGTH_REQUIRED", status=411)
    limit = declared if declared is not None else current_app.config["SETTINGS"].max_upload_bytes
    written = storage.put_stream(claims["k"], request.stream, claims.get("t"), max_bytes=limit)
    if declared is not None and written != declared:
        storage.delete(claims["k"])
        raise AppError(
            f"Received {written} bytes; the upload declared {declared}.",
            code="UPLOAD_SIZE_MISMATCH",
            status=400,
            details={"declared": declared, "received": written},
        )
    return "", 201


signed_put._large_body = True


@bp.get("/storage/<token>")
@doc(
    "Download a file through a signed link (local storage; supports Range)",
    tag="storage",
    auth="none",
    responses={
        200: "The file",
        206: "Part of the file",
        403: "SIGNATURE_INVALID or SIGNATURE_EXPIRED",
        404: "OBJECT_NOT_FOUND",
    },
)
def signed_get(token: str):
    storage = _local()
    claims = _claims("GET")
    key, filename = claims["k"], claims.get("f")
    path = storage.path_for(key)
    if not path.is_file():
        raise ObjectNotFound(details={"key": key})
    mimetype = mimetypes.guess_type(filename or key)[0] or "application/octet-stream"
    response = send_file(
        path,
        mimetype=mimetype,
        as_attachment=bool(filename),
        download_name=filename or None,
        conditional=True,
        etag=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
