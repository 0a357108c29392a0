"""The local storage backend's signed URLs: PUT to upload, GET to download.

The token in the path is the permission (HMAC-signed with SECRET_KEY, expiring), so these
routes need no login: they are what ``presign_put``/``presign_get`` hand out. A tampered or
expired token is a coded 403; a signed one whose key names no storable file, 404. With the S3 backend, clients talk to S3 and these routes 404.
"""

from __future__ import annotations

from flask import request, send_file

from backend_app.api import bp, doc
from backend_app.services import storage_links


@bp.put("/storage/<token>")
@doc(
    "Upload the bytes of a signed upload link (local storage)",
    tag="storage",
    auth="none",
    responses={
        201: "Stored",
        403: "SIGNATURE_INVALID or SIGNATURE_EXPIRED",
        404: "OBJECT_NOT_FOUND (the link names no storable file)",
        411: "LENGTH_REQUIRED",
        413: "UPLOAD_TOO_LARGE",
        400: "UPLOAD_SIZE_MISMATCH",
        409: "UPLOAD_CLOSED",
    },
)
def signed_put(token: str):
    chunked = bool(request.headers.get("Transfer-Encoding"))
    storage_links.receive_upload(token, request.stream, request.content_length, chunked)
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
        304: "Not modified (conditional request)",
        416: "Range not satisfiable",
        403: "SIGNATURE_INVALID or SIGNATURE_EXPIRED",
        404: "OBJECT_NOT_FOUND",
    },
    media="*/*",
)
def signed_get(token: str):
    found = storage_links.signed_file(token)
    response = send_file(
        found.path,
        mimetype=found.mimetype,
        as_attachment=found.filename is not None,
        download_name=found.filename,
        conditional=True,
        etag=True,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
