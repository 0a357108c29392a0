"""Documents through the API: upload policy and refusals, extraction by the real job runner,
pages, thumbnails, coded failures, delete, and another user's documents answering 404."""

from __future__ import annotations

import io

import pytest
from rq import Queue

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db, redis_store
from backend_app.jobs.runner import run_job
from backend_app.models import Document, DocumentPage, Job, Passage
from tests import document_files as files
from tests.document_uploads import init_document, put_and_complete, upload_document
from tests.factories import auth_headers, make_user
from tests.uploading import make_session

pytestmark = pytest.mark.timeout(300)
CELLS = "Cells are the basic unit of life. Every living cell is wrapped in a thin membrane of lipids."
ENERGY = "Mitochondria turn sugar into energy that the cell can use for growth, repair and movement."


@pytest.fixture
def owner(app, client):
    user = make_user()
    headers = auth_headers(client, user)
    return {"user": user, "headers": headers, "session_id": make_session(client, headers)}


def _error(response) -> str:
    return response.get_json()["error"]["code"]


def _extract(document_id: str) -> Document:
    """Run the document's job in this process (the real runner), as a worker would."""
    job_id = db.session.get(Document, document_id).job_id
    Queue("video", connection=redis_store.conn).empty()
    run_job(job_id)
    db.session.expire_all()
    return db.session.get(Document, document_id)


def _status(client, owner, document_id):
    return client.get(f"/api/v1/documents/{document_id}", headers=owner["headers"]).get_json()


def test_a_text_pdf_becomes_pages_with_words_language_and_thumbnails(app, client, owner):
    pages = [f"{CELLS} Page {n}." if n % 2 else f"{ENERGY} Page {n}." for n in range(1, 8)]
    data = files.pdf_with_text(pages, outline={0: "Cells", 1: "Energy"})
    document_id = upload_document(client, owner["headers"], owner["session_id"], data, "biology.pdf")
    assert Queue("video", connection=redis_store.conn).job_ids == [db.session.get(Document, document_id).job_id]
    early = client.get(f"/api/v1/documents/{document_id}/pages/1", headers=owner["headers"])
    assert early.status_code == 409 and _error(early) == "DOCUMENT_NOT_READY"

    document = _extract(document_id)
    assert document.status == "completed" and document.page_count == 7 and document.language == "en"
    status = _status(client, owner, document_id)
    assert status["status"] == "completed" and status["progress"] == 100 and status["error_code"] is None
    assert [p["number"] for p in status["pages"]] == list(range(1, 8))
    assert all(p["words"] == len(pages[p["number"] - 1].split()) for p in status["pages"])
    assert {p["ocr"] for p in status["pages"]} == {False} and {p["language"] for p in status["pages"]} == {"en"}

    page = client.get(f"/api/v1/documents/{document_id}/pages/2", headers=owner["headers"]).get_json()
    assert "Mitochondria" in page["text"] and "Page 2." in page["text"] and page["headings"] == ["Energy"]
    thumb = client.get(f"/api/v1/documents/{document_id}/pages/3/thumbnail", headers=owner["headers"])
    assert thumb.status_code == 200 and thumb.get_data().startswith(b"\xff\xd8")
    missing = client.get(f"/api/v1/documents/{document_id}/pages/8", headers=owner["headers"])
    assert missing.status_code == 404 and _error(missing) == "PAGE_NOT_FOUND"
    passages = db.session.query(Passage).filter_by(document_id=document_id).order_by(Passage.page).all()
    assert [(p.kind, p.page, p.user_id) for p in passages] == [("page", n, owner["user"].id) for n in range(1, 8)]
    assert passages[1].title == "biology.pdf, page 2: Energy" and "Mitochondria" in passages[1].text
    listed = client.get(f"/api/v1/documents?session_id={owner['session_id']}", headers=owner["headers"]).get_json()
    assert [d["id"] for d in listed["documents"]] == [document_id]

    # a re-run replaces the pages and thumbnails, never doubles them
    db.session.get(Job, document.job_id).status = "queued"
    db.session.commit()
    document = _extract(document_id)
    assert db.session.query(DocumentPage).filter_by(document_id=document_id).count() == 7
    assert len(list(get_storage().list_keys(f"{document.prefix}pages/"))) == 7

    assert client.delete(f"/api/v1/documents/{document_id}", headers=owner["headers"]).status_code == 204
    assert list(get_storage().list_keys("users/")) == []
    assert db.session.query(DocumentPage).count() == 0 and db.session.get(Job, document.job_id) is None
    assert db.session.query(Passage).filter_by(document_id=document_id).count() == 0


def test_docx_pptx_odt_and_markdown_keep_their_headings(app, client, owner):
    uploads = {
        "notes.docx": files.docx([("Chapter 1", [CELLS]), ("Chapter 2", [ENERGY])]),
        "slides.pptx": files.pptx([("Cells", CELLS), ("Energy", ENERGY)]),
        "notes.odt": files.odt([("Chapter 1", [CELLS]), ("Chapter 2", [ENERGY])]),
        "notes.md": f"# Chapter 1\n\n{CELLS}\n\n# Chapter 2\n\n{ENERGY}\n".encode(),
    }
    for name, data in uploads.items():
        document_id = upload_document(client, owner["headers"], owner["session_id"], data, name)
        document = _extract(document_id)
        assert document.status == "completed" and document.page_count == 2, name
        second = client.get(f"/api/v1/documents/{document_id}/pages/2", headers=owner["headers"]).get_json()
        assert "Mitochondria" in second["text"], name
        assert second["headings"] in (["Chapter 2"], ["Energy"]), name
        assert second["ocr"] is False and second["language"] == "en", name


@pytest.mark.parametrize(
    ("data", "code"),
    [(files.encrypted_pdf(), "DOCUMENT_ENCRYPTED"), (files.corrupt_pdf(), "DOCUMENT_CORRUPT")],
    ids=["encrypted", "corrupt"],
)
def test_an_unreadable_pdf_fails_with_its_code_and_no_retry(app, client, owner, data, code):
    document_id = upload_document(client, owner["headers"], owner["session_id"], data, "locked.pdf")
    document = _extract(document_id)
    assert document.status == "failed" and document.error_code == code
    status = _status(client, owner, document_id)
    assert status["status"] == "failed" and status["error_code"] == code and status["pages"] == []
    assert db.session.get(Job, document.job_id).retryable is False


@pytest.mark.settings(max_document_unzipped_bytes=8 << 20)
def test_a_docx_zip_bomb_is_refused_at_complete_and_again_by_the_job(app, client, owner):
    bomb = files.docx_bomb(64 << 20)  # 64 MiB of zeros in ~64 KiB
    ticket = init_document(client, owner["headers"], owner["session_id"], bomb, "bomb.docx")
    assert ticket.status_code == 201
    ticket = ticket.get_json()
    done = put_and_complete(client, owner["headers"], ticket, bomb)
    assert done.status_code == 422 and _error(done) == "DOCUMENT_ZIP_BOMB"
    document = db.session.get(Document, ticket["document_id"])
    assert document.status == "failed" and document.job.error_code == "DOCUMENT_ZIP_BOMB"
    assert get_storage().size(document.storage_key) is None  # the refused file is gone
    again = client.post("/api/v1/uploads/complete", json={"document_id": document.id}, headers=owner["headers"])
    assert again.status_code == 422 and _error(again) == "DOCUMENT_ZIP_BOMB"

    # bytes that reach the job another way (an S3 presigned PUT after complete) are checked again
    get_storage().put_bytes(document.storage_key, bomb)
    job = document.job
    job.status, job.error_code, job.stage = "queued", None, None
    db.session.commit()
    document = _extract(document.id)
    assert document.status == "failed" and document.job.error_code == "DOCUMENT_ZIP_BOMB"
    assert db.session.query(DocumentPage).filter_by(document_id=document.id).count() == 0


def test_declared_and_stored_refusals_have_codes(app, client, owner):
    headers, session_id = owner["headers"], owner["session_id"]
    limit = app.config["SETTINGS"].max_document_bytes
    big = client.post(
        "/api/v1/uploads/init",
        headers=headers,
        json={
            "filename": "big.pdf",
            "content_type": "application/pdf",
            "file_size": limit + 1,
            "session_id": session_id,
        },
    )
    assert big.status_code == 413 and _error(big) == "DOCUMENT_TOO_LARGE"
    neither = client.post(
        "/api/v1/uploads/init",
        headers=headers,
        json={"filename": "a.zip", "content_type": "application/zip", "file_size": 10, "session_id": session_id},
    )
    assert (
        neither.status_code == 415
        and "not a supported video or document type" in neither.get_json()["error"]["message"]
    )
    assert {"video/mp4", "application/pdf", "text/markdown"} <= set(neither.get_json()["error"]["details"]["allowed"])
    png_as_pdf = files.png_page(["not a pdf"])
    ticket = init_document(client, headers, session_id, png_as_pdf, "fake.pdf").get_json()
    refused = put_and_complete(client, headers, ticket, png_as_pdf)
    assert refused.status_code == 415 and _error(refused) == "UNSUPPORTED_FORMAT"
    assert refused.get_json()["error"]["details"]["reason"] == "magic_bytes"
    binary_md = b"\x00\x01\x02 binary" * 10
    ticket = init_document(client, headers, session_id, binary_md, "notes.md").get_json()
    assert _error(put_and_complete(client, headers, ticket, binary_md)) == "UNSUPPORTED_FORMAT"
    neither = client.post("/api/v1/uploads/complete", json={}, headers=headers)
    assert neither.status_code == 422 and _error(neither) == "VALIDATION_ERROR"


def test_markdown_by_name_and_a_page_image_in_one_multipart_request(app, client, owner):
    data = {
        "file": (io.BytesIO(b"# Title\n\n" + CELLS.encode()), "notes.md", "text/plain"),
        "session_id": owner["session_id"],
    }
    response = client.post("/api/v1/uploads", data=data, headers=owner["headers"], content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "queued" and "analysis_id" not in body
    document = db.session.get(Document, body["document_id"])
    assert document.kind == "markdown" and document.content_type == "text/markdown"
    png = {"file": (io.BytesIO(files.png_page(["Hello"])), "scan.png", "image/png"), "session_id": owner["session_id"]}
    response = client.post("/api/v1/uploads", data=png, headers=owner["headers"], content_type="multipart/form-data")
    assert response.status_code == 202 and db.session.get(Document, response.get_json()["document_id"]).kind == "image"


def test_every_route_hides_another_users_document(app, client, owner):
    document_id = upload_document(client, owner["headers"], owner["session_id"], files.pdf_with_text([CELLS]), "a.pdf")
    _extract(document_id)
    stranger = auth_headers(client, make_user())
    base = f"/api/v1/documents/{document_id}"
    for method, url in [
        ("GET", base),
        ("GET", f"{base}/pages/1"),
        ("GET", f"{base}/pages/1/thumbnail"),
        ("DELETE", base),
    ]:
        response = client.open(url, method=method, headers=stranger)
        assert response.status_code == 404, (method, url)
        assert _error(response) == "DOCUMENT_NOT_FOUND"
        assert "a.pdf" not in response.get_data(as_text=True)
    again = client.post("/api/v1/uploads/complete", json={"document_id": document_id}, headers=stranger)
    assert again.status_code == 404 and _error(again) == "DOCUMENT_NOT_FOUND"
    assert client.get("/api/v1/documents", headers=stranger).get_json()["documents"] == []
    foreign = client.get(f"/api/v1/documents?session_id={owner['session_id']}", headers=stranger)
    assert foreign.status_code == 404 and _error(foreign) == "SESSION_NOT_FOUND"
    assert db.session.get(Document, document_id) is not None


@pytest.mark.sqlite_only  # OCR is the slow part; the database side is the same as above
def test_a_scanned_pdf_and_a_page_image_are_read_by_ocr(app, client, owner):
    scanned = files.scanned_pdf(
        [
            ["Chapter one", "Photosynthesis turns light", "into sugar inside leaves."],
            ["Kapitel zwei", "Die Größe der Blätter", "ändert sich über das Jahr."],
        ]
    )
    document_id = upload_document(client, owner["headers"], owner["session_id"], scanned, "scan.pdf")
    document = _extract(document_id)
    assert document.status == "completed", (document.error_code, document.error_message)
    status = _status(client, owner, document_id)
    assert [(p["ocr"], p["language"]) for p in status["pages"]] == [(True, "en"), (True, "de")]
    first = client.get(f"/api/v1/documents/{document_id}/pages/1", headers=owner["headers"]).get_json()
    second = client.get(f"/api/v1/documents/{document_id}/pages/2", headers=owner["headers"]).get_json()
    assert "photosynthesis" in first["text"].lower() and "sugar" in first["text"].lower()
    assert first["text"].lower().index("chapter") < first["text"].lower().index("leaves")  # reading order
    assert "größe" in second["text"].lower() and "ändert" in second["text"].lower()
    thumb = client.get(f"/api/v1/documents/{document_id}/pages/1/thumbnail", headers=owner["headers"])
    assert thumb.status_code == 200 and thumb.get_data().startswith(b"\xff\xd8")

    image_id = upload_document(
        client, owner["headers"], owner["session_id"], files.png_page(["Mitochondria make energy"]), "page.png"
    )
    image = _extract(image_id)
    assert image.status == "completed" and image.page_count == 1
    page = client.get(f"/api/v1/documents/{image_id}/pages/1", headers=owner["headers"]).get_json()
    assert page["ocr"] is True and "mitochondria" in page["text"].lower()


@pytest.mark.sqlite_only
def test_documents_on_the_s3_backend_are_checked_extracted_and_deleted(app, s3_app, client, owner):
    data = files.docx([("Chapter 1", [CELLS]), ("Chapter 2", [ENERGY])])
    document_id = upload_document(client, owner["headers"], owner["session_id"], data, "notes.docx")
    document = _extract(document_id)
    assert document.status == "completed" and document.page_count == 2
    bomb = files.docx_bomb(4 << 20)
    ticket = init_document(client, owner["headers"], owner["session_id"], bomb, "bomb.docx").get_json()
    refused = put_and_complete(client, owner["headers"], ticket, bomb)
    assert refused.status_code == 422 and _error(refused) == "DOCUMENT_ZIP_BOMB"
    assert client.delete(f"/api/v1/documents/{document_id}", headers=owner["headers"]).status_code == 204
    assert list(get_storage().list_keys(f"users/{owner['user'].id}/")) == []


@pytest.mark.sqlite_only
@pytest.mark.settings(max_document_pages=3)
def test_a_document_over_the_page_limit_fails_with_its_code_and_keeps_no_pages(app, client, owner):
    for name, data in (
        ("long.pdf", files.pdf_with_text([f"{CELLS} {n}" for n in range(5)])),
        ("long.pptx", files.pptx([(f"Slide {n}", CELLS) for n in range(4)])),
    ):
        document = _extract(upload_document(client, owner["headers"], owner["session_id"], data, name))
        assert document.status == "failed" and document.error_code == "DOCUMENT_TOO_MANY_PAGES", name
        assert "at most 3" in document.error_message and document.job.retryable is False
        assert db.session.query(DocumentPage).filter_by(document_id=document.id).count() == 0


def _ask(client, owner, question: str) -> dict:
    body = {"message": question, "session_id": owner["session_id"]}
    return client.post("/api/v1/chat", json=body, headers=owner["headers"]).get_json()


def test_pdf_headings_by_type_size_make_the_outline_and_answer_chapter_questions(app, client, owner):
    from backend_app.services.documents.documents import outline

    pages = [
        ("Chapter 1: Photosynthesis", [CELLS, "Leaves turn light into sugar."]),
        ("Chapter 2: Respiration", [ENERGY, "Oxygen is used up on the way."]),
        ("Chapter 2: Respiration", ["The cell stores what it does not use at once."]),  # a running title
        ("", ["Nothing the cell makes is wasted."]),
        ("Chapter 3: Growth", ["Cells divide to grow."]),
    ]
    data = files.pdf_with_chapters(pages)
    document = _extract(upload_document(client, owner["headers"], owner["session_id"], data, "notes.pdf"))
    assert document.status == "completed"
    stored = db.session.query(DocumentPage).filter_by(document_id=document.id).order_by(DocumentPage.number).all()
    assert [(e["title"], e["page"]) for e in outline(stored)] == [
        ("Chapter 1: Photosynthesis", 1),
        ("Chapter 2: Respiration", 2),
        ("Chapter 3: Growth", 5),
    ]

    answer = _ask(client, owner, "what does chapter 2 say about mitochondria?")
    assert "Chapter 2: Respiration" in answer["answer"] and "Mitochondria turn sugar" in answer["answer"]
    assert [(c["kind"], c["document_id"], c["page"]) for c in answer["citations"]] == [("page", document.id, 2)]
    summary = _ask(client, owner, "summarise chapter 2")  # the chapter runs on over the page without a heading
    assert {c["page"] for c in summary["citations"]} == {2, 3, 4}, summary


def test_a_document_without_headings_finds_chapters_by_their_title_lines(app, client, owner):
    pages = [
        f"1. Photosynthesis\n{CELLS}",
        f"Kapitel 2: Atmung\n{ENERGY}",
        "3. Growth\nCells divide to grow; mitochondria multiply with them.",
    ]
    document = _extract(
        upload_document(client, owner["headers"], owner["session_id"], files.pdf_with_text(pages), "plain.pdf")
    )
    assert {tuple(p.headings) for p in db.session.query(DocumentPage).filter_by(document_id=document.id)} == {()}
    answer = _ask(client, owner, "what does chapter 2 say about mitochondria?")
    assert [(c["kind"], c["page"]) for c in answer["citations"]] == [("page", 2)], answer
    assert "Kapitel 2: Atmung" in answer["answer"]
    third = _ask(client, owner, "was steht in Kapitel 3 über mitochondria?")
    assert [c["page"] for c in third["citations"]] == [3], third


def test_the_owner_retries_a_failed_extraction_that_a_retry_can_change(app, client, owner):
    """A worker lost mid-extraction (a retry can help): the owner's retry queues it again, the row
    says queued at once, and the run extracts the pages. Encrypted (the same file would fail the same
    way): 409 JOB_NOT_RETRYABLE with why. Another user: 404. The file gone: SOURCE_MISSING."""
    headers = owner["headers"]
    document_id = upload_document(client, headers, owner["session_id"], files.pdf_with_text([CELLS]), "a.pdf")
    url = f"/api/v1/documents/{document_id}/retry"
    still_queued = client.post(url, headers=headers)
    assert still_queued.status_code == 409 and _error(still_queued) == "JOB_NOT_RETRYABLE"
    document = db.session.get(Document, document_id)
    document.job.status, document.job.error_code, document.job.attempts = "failed", "WORKER_LOST", 3
    document.status, document.error_code = "failed", "WORKER_LOST"
    db.session.commit()
    assert _status(client, owner, document_id)["retryable"] is True
    assert client.post(url, headers=auth_headers(client, make_user())).status_code == 404
    response = client.post(url, headers=headers)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "queued" and body["error_code"] is None and body["retryable"] is False
    db.session.expire_all()
    assert db.session.get(Document, document_id).status == "queued"
    done = _extract(document_id)
    assert done.status == "completed" and done.page_count == 1

    locked = upload_document(client, headers, owner["session_id"], files.encrypted_pdf(), "locked.pdf")
    assert _extract(locked).error_code == "DOCUMENT_ENCRYPTED"
    refused = client.post(f"/api/v1/documents/{locked}/retry", headers=headers)
    assert refused.status_code == 409 and _error(refused) == "JOB_NOT_RETRYABLE"
    assert "password" in refused.get_json()["error"]["message"]

    gone = db.session.get(Document, locked)
    gone.job.error_code = gone.error_code = "WORKER_LOST"
    db.session.commit()
    get_storage().delete(gone.storage_key)
    missing = client.post(f"/api/v1/documents/{locked}/retry", headers=headers)
    assert missing.status_code == 409 and _error(missing) == "SOURCE_MISSING"
