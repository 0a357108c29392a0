"""Documents as their owner sees them: list, status with pages, one page, its thumbnail, retry, delete.

Every function takes the tenant; another user's document (or page) is simply not found (404).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from backend_app.adapters.storage import ObjectNotFound, get_storage
from backend_app.errors import Conflict, NotFound
from backend_app.extensions import db
from backend_app.models import Document, DocumentPage
from backend_app.models.job import COMPLETED, QUEUED
from backend_app.services import sessions, upload_flow
from backend_app.services.documents import data
from backend_app.services.files import Download
from backend_app.tenancy import Tenant, get_owned, list_owned, scoped

JPEG = "image/jpeg"


def get(tenant: Tenant, document_id: str) -> Document:
    return get_owned(Document, tenant, document_id, what="document")


def list_for(tenant: Tenant, session_id: str | None = None, limit: int = 200) -> list[Document]:
    """The tenant's documents, newest first, optionally of one session (a foreign one is a 404)."""
    criteria = []
    if session_id:
        sessions.get(tenant, session_id)
        criteria.append(Document.session_id == session_id)
    return list_owned(Document, tenant, *criteria, order_by=Document.created_at.desc(), limit=limit)


def pages_of(tenant: Tenant, document: Document) -> list[DocumentPage]:
    """The document's pages in order (the tenant's own only)."""
    stmt = scoped(DocumentPage, tenant).where(DocumentPage.document_id == document.id).order_by(DocumentPage.number)
    return list(db.session.execute(stmt).scalars())


def status_dict(tenant: Tenant, document: Document) -> dict[str, Any]:
    """The document with its job's status, stage, progress and error, and a summary of each page."""
    data_ = document.to_dict()
    data_["pages"] = [page.summary() for page in pages_of(tenant, document)]
    data_["words"] = sum(page["words"] for page in data_["pages"])
    data_["ocr_pages"] = sum(1 for page in data_["pages"] if page["ocr"])
    return data_


def page(tenant: Tenant, document_id: str, number: int) -> DocumentPage:
    """Page ``number`` (1-based) of a completed document."""
    document = get(tenant, document_id)
    if document.state()["status"] != COMPLETED:
        raise Conflict(
            "The document is not extracted yet.",
            code="DOCUMENT_NOT_READY",
            details={"status": document.state()["status"], "progress": document.state()["progress"]},
        )
    row = db.session.execute(
        scoped(DocumentPage, tenant).where(DocumentPage.document_id == document.id, DocumentPage.number == number)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"The document has no page {number}.", code="PAGE_NOT_FOUND", details={"pages": document.page_count}
        )
    return row


def thumbnail(tenant: Tenant, document_id: str, number: int) -> Download:
    """A page's thumbnail (JPEG), streamed from storage."""
    document = get(tenant, document_id)
    key = db.session.scalar(
        select(DocumentPage.thumb_key).where(
            DocumentPage.document_id == document.id,
            DocumentPage.user_id == tenant.user_id,
            DocumentPage.number == number,
        )
    )
    if not key or not key.startswith(document.prefix):
        raise NotFound("This page has no thumbnail.", code="THUMBNAIL_NOT_FOUND")
    storage = get_storage()
    try:
        return Download(storage.iter_chunks(key), JPEG, size=storage.size(key))
    except ObjectNotFound:
        raise NotFound("This page has no thumbnail.", code="THUMBNAIL_NOT_FOUND") from None


def outline(pages: list[DocumentPage]) -> list[dict[str, Any]]:
    """Every heading with the page it is on, in reading order (the report's outline); a heading
    repeated atop the following pages (a running chapter title) is listed once, at its first page."""
    entries: list[dict[str, Any]] = []
    for page in pages:
        for title in page.headings or []:
            if not entries or entries[-1]["title"] != title:
                entries.append({"title": title, "page": page.number})
    return entries


def retry(tenant: Tenant, document_id: str) -> Document:
    """The owner's retry of a failed (or canceled) extraction; its uploaded file must still exist.
    The row's own status follows the job's at once (lists filter on it)."""
    document = get(tenant, document_id)
    upload_flow.retry_upload_job(document.job, document.storage_key, "document")
    document.status, document.stage, document.progress = QUEUED, None, 0
    document.error_code = document.error_message = None
    db.session.commit()
    return document


def delete(tenant: Tenant, document_id: str) -> None:
    """Delete the document: stored objects, pages, passages, its row and its job (canceled first)."""
    data.purge_document(get(tenant, document_id))
    db.session.commit()
