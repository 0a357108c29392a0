"""A document is its owner's data: export, account erasure, session deletion and the retention
purge reach its row, its pages, its passages in the chat index, its source file and thumbnails."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db
from backend_app.models import Document, DocumentPage, Job, Passage
from backend_app.models.base import new_id, utcnow
from backend_app.queue.enqueue import create_job
from backend_app.services import retention, sessions
from backend_app.services.chat import passages
from backend_app.tenancy import Tenant
from tests.factories import PASSWORD, auth_headers, make_user
from tests.web.test_document_pages import completed_document

SOURCE = b"%PDF-1.7 the uploaded bytes"


def _document(user, session_id: str, filename: str, *, age_h: float = 0, job_status: str | None = None) -> Document:
    document = completed_document(user.id, session_id, filename=filename)
    get_storage().put_bytes(document.storage_key, SOURCE + filename.encode())
    passages.index_document_pages(user.id, session_id, document.id, filename, documents_pages(document))
    if job_status:
        job = create_job(
            "document_extraction", user_id=user.id, session_id=session_id, status=job_status, job_id=new_id()
        )
        document.job_id = job.id
    document.created_at = utcnow() - timedelta(hours=age_h)
    db.session.commit()
    return document


def documents_pages(document: Document) -> list[DocumentPage]:
    return db.session.query(DocumentPage).filter_by(document_id=document.id).order_by(DocumentPage.number).all()


def _left(document_id: str, prefix: str) -> dict[str, int]:
    db.session.expire_all()
    return {
        "documents": db.session.query(Document).filter_by(id=document_id).count(),
        "pages": db.session.query(DocumentPage).filter_by(document_id=document_id).count(),
        "passages": db.session.query(Passage).filter_by(document_id=document_id).count(),
        "objects": len(list(get_storage().list_keys(prefix))),
    }


NOTHING = {"documents": 0, "pages": 0, "passages": 0, "objects": 0}
WHOLE = {"documents": 1, "pages": 3, "passages": 3, "objects": 4}  # source + 3 thumbnails


def test_export_holds_own_documents_pages_and_files_only(client):
    alice, bob = make_user(), make_user()
    mine = _document(alice, sessions.create(Tenant(alice.id), "a").id, "alice-notes.pdf")
    theirs = _document(bob, sessions.create(Tenant(bob.id), "b").id, "bob-notes.pdf")
    response = client.get("/api/v1/me/export", headers=auth_headers(client, alice))
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = set(archive.namelist())
    documents = [json.loads(line) for line in archive.read("tables/documents.jsonl").decode().splitlines()]
    assert [d["id"] for d in documents] == [mine.id]
    pages = [json.loads(line) for line in archive.read("tables/document_pages.jsonl").decode().splitlines()]
    assert sorted(p["number"] for p in pages) == [1, 2, 3] and {p["document_id"] for p in pages} == {mine.id}
    source = f"files/{mine.prefix}alice-notes.pdf"
    assert source in names and archive.read(source) == SOURCE + b"alice-notes.pdf"
    assert f"files/{mine.prefix}pages/2.jpg" in names
    blob = b"".join(archive.read(n) for n in names)
    assert theirs.id.encode() not in blob and b"bob-notes" not in blob


def test_erasing_an_account_leaves_nothing_of_its_documents(client):
    alice, bob = make_user(), make_user()
    mine = _document(alice, sessions.create(Tenant(alice.id), "a").id, "alice.pdf", job_status="completed")
    theirs = _document(bob, sessions.create(Tenant(bob.id), "b").id, "bob.pdf")
    mine_id, mine_prefix = mine.id, mine.prefix
    response = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=auth_headers(client, alice))
    assert response.status_code == 200
    removed = response.get_json()["removed"]
    assert removed["rows.documents"] == 1 and removed["rows.document_pages"] == 3
    assert _left(mine_id, mine_prefix) == NOTHING
    assert _left(theirs.id, theirs.prefix) == WHOLE


def test_deleting_a_session_removes_its_documents(app):
    user = make_user()
    gone_session = sessions.create(Tenant(user.id), "gone")
    kept_session = sessions.create(Tenant(user.id), "kept")
    gone = _document(user, gone_session.id, "gone.pdf", job_status="completed")
    kept = _document(user, kept_session.id, "kept.pdf")
    gone_id, gone_prefix, job_id = gone.id, gone.prefix, gone.job_id
    sessions.delete(Tenant(user.id), gone_session.id)
    assert _left(gone_id, gone_prefix) == NOTHING and db.session.get(Job, job_id) is None
    assert _left(kept.id, kept.prefix) == WHOLE


def test_retention_purges_old_finished_documents_and_abandoned_uploads(app):
    user = make_user()
    session_id = sessions.create(Tenant(user.id), "s").id
    hours = app.config["SETTINGS"].purge_retention_h
    old = _document(user, session_id, "old.pdf", age_h=hours + 1, job_status="completed")
    old_running = _document(user, session_id, "running.pdf", age_h=hours + 1, job_status="running")
    new = _document(user, session_id, "new.pdf", age_h=1, job_status="completed")
    abandoned = _document(user, session_id, "abandoned.pdf", age_h=3, job_status="pending_upload")
    waiting = _document(user, session_id, "waiting.pdf", age_h=0, job_status="pending_upload")
    targets = {d.id: d.prefix for d in (old, abandoned)}

    dry = retention.purge(dry_run=True)
    assert dry["documents"] == 2 and _left(old.id, old.prefix) == WHOLE
    counts = retention.purge()
    assert counts["documents"] == 2 and counts["document_objects"] == 8
    for document_id, prefix in targets.items():
        assert _left(document_id, prefix) == NOTHING
    for document in (old_running, new, waiting):
        assert _left(document.id, document.prefix) == WHOLE
