"""Document pages: the session page lists documents with live status, the report (pages,
thumbnails, outline, OCR marks, ?page=N), uploads through the page, delete, and 404s for others."""

from __future__ import annotations

import pytest

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db
from backend_app.models import Document, DocumentPage, Job
from backend_app.models.base import new_id, utcnow
from backend_app.models.documents import document_prefix
from backend_app.services import sessions
from backend_app.tenancy import Tenant
from tests import document_files as files
from tests.uploading import send
from tests.web.conftest import text

JPEG = files.jpeg_page(["thumb"])


def completed_document(user_id: str, session_id: str, filename: str = "biology.pdf") -> Document:
    """A document as its extraction leaves it: three pages (the second OCR'd), thumbnails stored."""
    document_id = new_id()
    prefix = document_prefix(user_id, document_id)
    document = Document(
        id=document_id,
        user_id=user_id,
        session_id=session_id,
        filename=filename,
        content_type="application/pdf",
        kind="pdf",
        size_bytes=1234,
        storage_key=f"{prefix}source",
        status="completed",
        stage="done",
        progress=100,
        page_count=3,
        language="en",
        completed_at=utcnow(),
    )
    db.session.add(document)
    pages = [
        ("Cells are small.", ["Chapter 1: Cells"], False),
        ("Scanned words about membranes.", [], True),
        ("Energy comes from sugar.", ["Chapter 2: Energy"], False),
    ]
    for number, (body, headings, ocr) in enumerate(pages, start=1):
        key = f"{prefix}pages/{number}.jpg"
        get_storage().put_bytes(key, JPEG, "image/jpeg")
        db.session.add(
            DocumentPage(
                document_id=document_id,
                user_id=user_id,
                session_id=session_id,
                number=number,
                text=body,
                words=len(body.split()),
                ocr=ocr,
                language="en",
                headings=headings,
                thumb_key=key,
            )
        )
    db.session.commit()
    return document


def _session(page, name: str = "Biology"):
    return sessions.create(Tenant(page.user.id), name)


def test_session_page_lists_documents_and_the_report_shows_pages(page):
    session = _session(page)
    document = completed_document(page.user.id, session.id)
    body = text(page.get(f"/sessions/{session.id}"))
    assert 'id="documents"' in body and "biology.pdf" in body and "3 pages" in body and "1 read by OCR" in body
    assert "application/pdf" in body  # the file picker accepts documents

    report = text(page.get(f"/documents/{document.id}"))
    assert "Chapter 1: Cells" in report and "Chapter 2: Energy" in report  # the outline
    assert report.count('<article class="doc-page') == 3 and report.count('data-testid="ocr-badge"') == 1
    assert f"/documents/{document.id}/pages/2.jpg" in report and 'data-selected="true"' not in report
    opened = text(page.get(f"/documents/{document.id}?page=3"))
    assert 'id="page-3" data-page="3"\n      data-selected="true"' in opened
    assert opened.count('data-selected="true"') == 1
    assert text(page.get(f"/documents/{document.id}?page=99")).count('data-selected="true"') == 0
    thumb = page.get(f"/documents/{document.id}/pages/2.jpg")
    assert thumb.status_code == 200 and thumb.get_data() == JPEG


@pytest.mark.sqlite_only
def test_a_running_document_polls_itself_and_stops_when_done(page):
    session = _session(page)
    document = completed_document(page.user.id, session.id)
    job = Job(kind="document_extraction", status="running", stage="pages", progress=40, user_id=page.user.id)
    db.session.add(job)
    db.session.flush()
    document.job_id = job.id
    db.session.commit()
    fragment = page.get(f"/documents/{document.id}/status", htmx=True)
    body = text(fragment)
    assert fragment.headers["Vary"] == "HX-Request" and "<html" not in body
    assert 'hx-trigger="every 1s"' in body and "pages · 40 %" in body
    assert 'hx-trigger="every 1s"' in text(page.get(f"/documents/{document.id}"))  # not extracted yet: the item
    job.status, job.progress = "completed", 100
    db.session.commit()
    assert 'hx-trigger="every 1s"' not in text(page.get(f"/documents/{document.id}/status", htmx=True))


@pytest.mark.sqlite_only
def test_upload_through_the_page_and_a_refusal_is_listed_with_its_code(page):
    session = _session(page)
    data = files.pdf_with_text(["Hello page"])
    ticket = page.client.post(
        f"/sessions/{session.id}/uploads",
        json={"filename": "hello.pdf", "content_type": "application/pdf", "file_size": len(data)},
        headers={"X-CSRF-TOKEN": page.csrf},
    )
    assert ticket.status_code == 201
    ticket = ticket.get_json()
    assert ticket["complete_url"] == f"/documents/{ticket['document_id']}/complete"
    status, _, _ = send(page.client, ticket["method"], ticket["upload_url"], data=data, headers=ticket["headers"])
    assert status in (200, 201)
    item = page.post(ticket["complete_url"], htmx=True)
    assert item.status_code == 200 and 'data-status="queued"' in text(item) and 'hx-trigger="every 1s"' in text(item)

    fake = b"%PDF? no, a text file" * 5
    ticket = page.client.post(
        f"/sessions/{session.id}/uploads",
        json={"filename": "fake.pdf", "content_type": "application/pdf", "file_size": len(fake)},
        headers={"X-CSRF-TOKEN": page.csrf},
    ).get_json()
    send(page.client, ticket["method"], ticket["upload_url"], data=fake, headers=ticket["headers"])
    refused = page.post(ticket["complete_url"], htmx=True)
    assert refused.status_code == 415 and refused.headers["X-Analysis-Item"] == "failed"
    assert "UNSUPPORTED_FORMAT" in text(refused) and 'data-status="failed"' in text(refused)


def test_delete_and_another_users_document_is_404_everywhere(page, other_page):
    session = _session(page)
    document = completed_document(page.user.id, session.id, filename="secret-notes.pdf")
    for url in (
        f"/documents/{document.id}",
        f"/documents/{document.id}?page=2",
        f"/documents/{document.id}/status",
        f"/documents/{document.id}/pages/1.jpg",
    ):
        response = other_page.get(url)
        assert response.status_code == 404, url
        assert "secret-notes" not in text(response)
    assert other_page.post(f"/documents/{document.id}/delete").status_code == 404
    assert other_page.post(f"/documents/{document.id}/complete").status_code == 404
    assert db.session.get(Document, document.id) is not None

    assert page.post(f"/documents/{document.id}/delete", htmx=True).status_code == 200
    assert page.get(f"/documents/{document.id}").status_code == 404
    assert list(get_storage().list_keys(document_prefix(page.user.id, document.id))) == []


def test_a_failed_extraction_offers_retry_where_it_can_help_and_says_why_not_elsewhere(page, other_page):
    session = _session(page)
    document = completed_document(page.user.id, session.id)
    get_storage().put_bytes(document.storage_key, b"%PDF-1.4 stand-in", "application/pdf")
    job = Job(kind="document_extraction", status="failed", error_code="WORKER_LOST", user_id=page.user.id)
    db.session.add(job)
    db.session.flush()
    document.job_id, document.status = job.id, "failed"
    db.session.commit()
    item = text(page.get(f"/sessions/{session.id}"))
    assert f"/documents/{document.id}/retry" in item and 'data-testid="retry"' in item
    assert other_page.post(f"/documents/{document.id}/retry", htmx=True).status_code == 404
    retried = page.post(f"/documents/{document.id}/retry", htmx=True)
    assert retried.status_code == 200 and 'data-status="queued"' in text(retried)
    assert 'hx-trigger="every 1s"' in text(retried)  # the item polls again
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "queued" and db.session.get(Document, document.id).status == "queued"

    job.status, job.error_code = "failed", "DOCUMENT_ENCRYPTED"
    db.session.commit()
    item = text(page.get(f"/documents/{document.id}/status", htmx=True))
    assert 'data-testid="retry"' not in item and "No retry: the document is protected by a password" in item
    refused = page.post(f"/documents/{document.id}/retry", htmx=True)
    assert refused.status_code == 409
