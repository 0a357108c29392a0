"""Document uploads: from a declared file to a queued extraction job.

The same two ways in as videos (services/video/uploads.py): a signed direct upload (``init``,
PUT, ``complete``) and one multipart request (``one_shot``), the same quota check, and the same
rule for refusals at complete: the job fails with the refusal's code and the object is deleted.
DOCX, PPTX and ODT are zips: at complete their directory is checked for a zip bomb before the job
is queued (the job checks again before it opens them).
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import IO, Any

from flask import current_app

from backend_app.adapters.documents import zipguard
from backend_app.adapters.documents.errors import DocumentError
from backend_app.adapters.storage import get_storage
from backend_app.errors import AppError
from backend_app.extensions import db
from backend_app.models import Document, Job
from backend_app.models.base import new_id
from backend_app.models.documents import document_prefix
from backend_app.models.job import PENDING_UPLOAD, QUEUED
from backend_app.services import quotas, sessions, upload_flow
from backend_app.services.documents import documents
from backend_app.services.documents import policy as document_policy
from backend_app.services.video.workdir import make_workdir
from backend_app.tenancy import Tenant

log = logging.getLogger(__name__)
KIND = "document_extraction"


def _source_key(user_id: str, document_id: str) -> str:
    return f"{document_prefix(user_id, document_id)}source"


def _create(
    tenant: Tenant,
    session_id: str,
    filename: str,
    content_type: str,
    kind: str,
    size: int,
    document_id: str | None = None,
) -> Document:
    """Add the Document row and its ``pending_upload`` job row, and commit them."""
    document_id = document_id or new_id()
    job = upload_flow.pending_job(KIND, tenant.user_id, session_id, {"document_id": document_id}, size)
    document = Document(
        id=document_id,
        user_id=tenant.user_id,
        session_id=session_id,
        job_id=job.id,
        filename=filename,
        content_type=content_type,
        kind=kind,
        size_bytes=size,
        storage_key=_source_key(tenant.user_id, document_id),
        status=PENDING_UPLOAD,
    )
    db.session.add(document)
    db.session.commit()
    return document


def init(tenant: Tenant, *, filename: str, content_type: str, file_size: int, session_id: str) -> dict[str, Any]:
    """Check the declaration, create the document and hand out a signed upload URL."""
    session = sessions.get(tenant, session_id)
    filename = document_policy.clean_filename(filename)
    content_type, kind = document_policy.check_declared(filename, content_type, file_size)
    quotas.check_upload(tenant.user_id, file_size)
    document = _create(tenant, session.id, filename, content_type, kind, file_size)
    answer = upload_flow.signed_upload("document_id", document.id, document.storage_key, content_type, file_size)
    log.info("document upload initiated", extra={"document_id": document.id, "file_size": file_size})
    return answer


def is_upload_key(key: str) -> bool:
    """Whether a storage key is a document's source (its signed upload link is checked here)."""
    parts = key.split("/")
    return len(parts) == 5 and parts[0] == "users" and parts[2] == "documents" and parts[4] == "source"


def check_upload_open(key: str) -> None:
    """Refuse bytes for ``key`` unless its document still waits for them (see the video twin)."""
    upload_flow.check_upload_open(Document, key)


def _reject(document: Document, job: Job, refusal: AppError) -> None:
    """Fail the job with the refusal's code and drop the unusable object."""
    upload_flow.reject(job, refusal, document.storage_key, also=(document,))
    log.info("document upload refused", extra={"document_id": document.id, "error_code": refusal.code})


def check_zip(document: Document) -> None:
    """Download a zip-format document's source and check its directory (DocumentError if refused)."""
    settings = current_app.config["SETTINGS"]
    workdir = make_workdir(settings, f"doc{document.id}")
    try:
        path = os.path.join(workdir, "source.zip")
        get_storage().download_to(document.storage_key, path)
        zipguard.check(path, document.kind, max_unzipped=settings.max_document_unzipped_bytes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _check_stored(document: Document) -> int:
    size, head = upload_flow.read_stored(document.storage_key, document_policy.HEAD_BYTES)
    document_policy.check_stored(document.size_bytes, size, head, document.kind)
    if document.kind in document_policy.ZIP_KINDS:
        try:
            check_zip(document)
        except DocumentError as exc:
            raise document_policy.refusal(exc.code, exc.message, **exc.details) from None
    return size


def complete(tenant: Tenant, document_id: str) -> Document:
    """Check the stored bytes and queue the extraction; calling it again changes nothing."""
    document = documents.get(tenant, document_id)
    job = document.job
    if not upload_flow.awaits_bytes(
        job, "document", document_policy.refusal, document_policy.STATUS_BY_CODE, refused_only=True
    ):
        return document
    size = upload_flow.checked(lambda: _check_stored(document), lambda refusal: _reject(document, job, refusal))
    document.size_bytes = size
    if upload_flow.queue_once(job, on_claimed=lambda: setattr(document, "status", QUEUED)):
        log.info("document upload complete; extraction queued", extra={"document_id": document.id, "file_size": size})
    return document


def one_shot(
    tenant: Tenant, *, session_id: str, filename: str, content_type: str | None, stream: IO[bytes]
) -> Document:
    """A whole file in one request: check it, stream it to storage, create and queue the extraction."""
    session = sessions.get(tenant, session_id)
    filename = document_policy.clean_filename(filename)
    size, head = upload_flow.measure(stream, document_policy.HEAD_BYTES)
    content_type, kind = document_policy.check_declared(filename, content_type, size)
    document_policy.check_stored(size, size, head, kind)
    quotas.check_upload(tenant.user_id, size)
    document_id = new_id()
    key = _source_key(tenant.user_id, document_id)
    document = upload_flow.store_then_create(
        key,
        stream,
        content_type,
        size,
        lambda: _create(tenant, session.id, filename, content_type, kind, size, document_id=document_id),
    )
    return complete(tenant, document.id)
