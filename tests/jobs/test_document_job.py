"""The document_extraction job on a real worker (`python worker.py`): the main path end to end,
stages and timings on the job row, a coded failure, and no temp files left."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_app.extensions import db
from backend_app.models import Document, Job
from tests import document_files as files
from tests.document_uploads import upload_document
from tests.factories import auth_headers, make_user
from tests.helpers import wait_until
from tests.uploading import make_session

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(300)]
TEXT = "Enzymes speed up chemical reactions in the body without being used up themselves."


def _finished(client, headers, document_id):
    def poll():
        body = client.get(f"/api/v1/documents/{document_id}", headers=headers).get_json()
        return body if body["status"] in ("completed", "failed", "canceled") else None

    return wait_until(poll, timeout_s=240, interval_s=0.5, message="the document to be extracted")


def test_documents_are_extracted_by_a_real_worker(app, client, worker):
    headers = auth_headers(client, make_user())
    session_id = make_session(client, headers)
    uploads = {
        "enzymes.pdf": files.pdf_with_text([f"{TEXT} Page {n}." for n in range(1, 31)]),
        "enzymes.docx": files.docx([("Enzymes", [TEXT]), ("Catalysts", [TEXT])]),
        "enzymes.pptx": files.pptx([("Enzymes", TEXT), ("Catalysts", TEXT), ("Summary", TEXT)]),
        "locked.pdf": files.encrypted_pdf(TEXT),
    }
    ids = {name: upload_document(client, headers, session_id, data, name) for name, data in uploads.items()}
    results = {name: _finished(client, headers, document_id) for name, document_id in ids.items()}

    assert {name: r["status"] for name, r in results.items()} == {
        "enzymes.pdf": "completed",
        "enzymes.docx": "completed",
        "enzymes.pptx": "completed",
        "locked.pdf": "failed",
    }
    assert [len(results[n]["pages"]) for n in ("enzymes.pdf", "enzymes.docx", "enzymes.pptx")] == [30, 2, 3]
    assert results["enzymes.pdf"]["language"] == "en" and results["enzymes.pdf"]["words"] == 30 * 15
    assert results["locked.pdf"]["error_code"] == "DOCUMENT_ENCRYPTED"
    assert results["locked.pdf"]["retryable"] is False and "password" in results["locked.pdf"]["retry_note"]

    slide = client.get(f"/api/v1/documents/{ids['enzymes.pptx']}/pages/2", headers=headers).get_json()
    assert slide["headings"] == ["Catalysts"] and TEXT in slide["text"]

    db.session.expire_all()
    job = db.session.get(Job, db.session.get(Document, ids["enzymes.pdf"]).job_id)
    assert job.status == "completed" and job.result["pages"] == 30 and job.result["indexed"] == 30
    assert {"fetch", "read", "pages", "index"} <= set(job.timings)
    document = db.session.get(Document, ids["enzymes.pdf"])
    assert document.status == "completed" and document.progress == 100 and document.completed_at
    tmp = Path(app.config["SETTINGS"].data_dir) / "tmp"
    wait_until(lambda: not any(tmp.iterdir()) if tmp.exists() else True, timeout_s=30, message="temp dirs removed")


def test_a_document_jobs_log_lines_name_the_document(app):
    from backend_app.observability import bind_log_ids, log_ids_var

    job = Job(kind="document_extraction", user_id="u" * 32, session_id="s" * 32, payload={"document_id": "d" * 32})
    assert job.log_ids == {"user_id": "u" * 32, "session_id": "s" * 32, "document_id": "d" * 32}
    token = log_ids_var.set(None)
    try:
        bind_log_ids(**job.log_ids)
        assert log_ids_var.get()["document_id"] == "d" * 32
    finally:
        log_ids_var.reset(token)
