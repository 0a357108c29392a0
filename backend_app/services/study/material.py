"""Study material as a unit of work: requested for a document or a session, made by a job, cached.

A request hashes the pages it would study (``build.cache_key``: text, headings, provider,
model); a completed material of the same target with that hash answers at once, and so does
one of another of the user's documents with identical pages (copied, never shared between
users). Otherwise the target's one row is given a new job: committed, then enqueued.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend_app.errors import AppError, NotFound
from backend_app.extensions import db
from backend_app.models import Session
from backend_app.models.base import utcnow
from backend_app.models.documents import Document, DocumentPage
from backend_app.models.job import FINISHED
from backend_app.models.study import StudyMaterial, target_key
from backend_app.queue import enqueue
from backend_app.queue.errors import JobFailure
from backend_app.services.study import build
from backend_app.tenancy import Tenant, get_owned, list_owned

KIND = "study"
READY = "completed"


class DocumentNotReady(AppError):
    status, code = 409, "DOCUMENT_NOT_READY"
    message = "The document's text is not extracted yet; study material can be made once it is."


class NothingToStudy(AppError):
    status, code = 422, "STUDY_NO_TEXT"
    message = "There is no text to make study material from."


def _document_pages(document: Document) -> build.Pages:
    rows = db.session.execute(
        select(DocumentPage.number, DocumentPage.text, DocumentPage.headings)
        .where(DocumentPage.document_id == document.id)
        .order_by(DocumentPage.number)
    ).all()
    return [(n, t or "", list(h or [])) for n, t, h in rows]


def _session_pages(tenant: Tenant, session_id: str) -> tuple[build.Pages, list[tuple[str, int]]]:
    """The session's finished documents' pages numbered 1… in upload order, and what each number was."""
    documents = list_owned(
        Document, tenant, Document.session_id == session_id, Document.status == READY, order_by=Document.created_at
    )
    pages: build.Pages = []
    origin: list[tuple[str, int]] = []
    for document in documents:
        for number, text, headings in _document_pages(document):
            pages.append((len(pages) + 1, text, headings))
            origin.append((document.id, number))
    return pages, origin


def _target(tenant: Tenant, scope: str, target_id: str, *, ready: bool = False) -> tuple[str, Document | None]:
    """(session id, document) of a request's target, after the tenancy check; with ``ready``, a
    document must be extracted."""
    if scope != "document":
        return get_owned(Session, tenant, target_id, what="session").id, None
    document = get_owned(Document, tenant, target_id, what="document")
    if ready and document.status != READY:
        raise DocumentNotReady(details={"status": document.status})
    return document.session_id, document


def _pages(tenant: Tenant, session_id: str, document: Document | None) -> build.Pages:
    pages = _document_pages(document) if document is not None else _session_pages(tenant, session_id)[0]
    if not any(text.strip() for _n, text, _h in pages):
        raise NothingToStudy()
    return pages


def _row(tenant: Tenant, scope: str, target_id: str) -> StudyMaterial | None:
    found = list_owned(StudyMaterial, tenant, StudyMaterial.target_key == target_key(scope, target_id), limit=1)
    return found[0] if found else None


def _new_row(tenant: Tenant, scope: str, target_id: str, session_id: str, document_id: str | None):
    """The target's row, inserted (not committed); None when a request at the same moment inserted
    it first (its transaction is rolled back: nothing else is staged by then).

    No SAVEPOINT: with SQLite's driver, releasing the outermost one commits the half-made row."""
    row = StudyMaterial(user_id=tenant.user_id, session_id=session_id, document_id=document_id, scope=scope,
                        target_key=target_key(scope, target_id), content_hash="")  # fmt: skip
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return None
    return row


def request(tenant: Tenant, scope: str, target_id: str) -> tuple[StudyMaterial, bool]:
    """Ask for the target's material: (its row, whether it answered from the cache)."""
    session_id, document = _target(tenant, scope, target_id, ready=True)
    document_id = document.id if document is not None else None
    key = build.cache_key(_pages(tenant, session_id, document))
    row = _row(tenant, scope, target_id)
    if row is not None and row.content_hash == key:
        if row.data is not None:
            return row, True
        if row.job is not None and row.job.status not in FINISHED:
            return row, False  # already being made
    if row is None:
        row = _new_row(tenant, scope, target_id, session_id, document_id)
        if row is None:
            return request(tenant, scope, target_id)  # the other request's row answers this one too
    row.content_hash, row.data, row.completed_at = key, None, None
    db.session.flush()  # the row's id, which the twin must not be
    twin = _twin(tenant, scope, key, row)
    if twin is not None:
        row.job_id = None
        _fill(row, twin.data, provider=twin.provider, model=twin.model, fallback=twin.fallback, dropped=twin.dropped)
        row.page_count = twin.page_count
        db.session.commit()
        return row, True
    job = enqueue.create_job(KIND, user_id=tenant.user_id, session_id=session_id, payload={"material_id": row.id})
    db.session.flush()
    row.job_id = job.id
    db.session.commit()
    enqueue.enqueue(job)
    return row, False


def _twin(tenant: Tenant, scope: str, key: str, row: StudyMaterial) -> StudyMaterial | None:
    """The user's completed document material of identical pages (another upload of the same file)."""
    if scope != "document":
        return None
    found = list_owned(
        StudyMaterial,
        tenant,
        StudyMaterial.scope == "document",
        StudyMaterial.content_hash == key,
        StudyMaterial.completed_at.is_not(None),  # made (a JSON column's None is JSON null, not SQL NULL)
        StudyMaterial.id != row.id,
        limit=1,
    )
    return found[0] if found else None


def _fill(row: StudyMaterial, data: dict, **made: Any) -> None:
    row.data = data
    row.provider, row.model = made["provider"], made["model"]
    row.fallback, row.dropped = made["fallback"], made["dropped"]
    row.completed_at = utcnow()


def get(tenant: Tenant, scope: str, target_id: str) -> StudyMaterial:
    """The target's material (made, being made or failed), or STUDY_NOT_FOUND when never asked for."""
    _target(tenant, scope, target_id)  # the target must still be the tenant's
    row = _row(tenant, scope, target_id)
    if row is None:
        raise NotFound("No study material was requested for this yet.", code="STUDY_NOT_FOUND")
    return row


def make(material_id: str, progress, *, user_id: str) -> dict:
    """The job's use case: read the pages, build the material, store it with the run's last progress."""
    row = db.session.get(StudyMaterial, material_id)
    if row is None or row.user_id != user_id:
        raise JobFailure("STUDY_NOT_FOUND", f"study material {material_id} no longer exists")
    tenant = Tenant(user_id)
    progress("reading", 5)
    if row.scope == "document":
        document = db.session.get(Document, row.document_id)
        pages, origin = (_document_pages(document) if document is not None else []), None
    else:
        pages, origin = _session_pages(tenant, row.session_id)
    if not any(text.strip() for _n, text, _h in pages):
        raise JobFailure("STUDY_NO_TEXT", "there is no text to make study material from")
    progress("generating", 15)
    made = build.build(pages, user_id=user_id)
    material = made["material"] if origin is None else _located(made["material"], origin)
    row.content_hash, row.page_count = build.cache_key(pages), len(pages)
    _fill(row, material, **made)
    progress("saving", 100)  # commits the material with the run's progress
    counts = {k: len(material[k]) for k in ("key_terms", "flashcards", "quiz")}
    return {"material_id": row.id, "provider": row.provider, "pages": len(pages), **counts}


def _located(material: dict, origin: list[tuple[str, int]]) -> dict:
    """A session's items with the document and page number their session-wide page number stands for."""
    out = {"summary": material["summary"]}
    for part in ("key_terms", "flashcards", "quiz"):
        out[part] = []
        for item in material[part]:
            document_id, number = origin[item["page"] - 1]
            out[part].append({**item, "page": number, "document_id": document_id})
    return out
