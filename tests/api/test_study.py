"""Study material over the API: request (202), the job, the cache, the shapes, exports and reviews,
on documents made in the test; the job runs in-process (run_job) or in a real worker."""

from __future__ import annotations

import csv
import io
import json

from backend_app.extensions import db
from backend_app.jobs.runner import run_job
from backend_app.models import Job
from backend_app.models.study import FlashcardReview, StudyMaterial
from backend_app.services import sessions
from backend_app.tenancy import Tenant
from tests.factories import auth_headers, make_user
from tests.helpers import wait_until
from tests.services.study.test_offline import ML, assert_grounded
from tests.study_text import make_document
from tests.study_text import pages as textbook


def _made(client, headers, url: str) -> dict:
    response = client.post(url, headers=headers)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    if body["job_id"] and not body["cached"]:
        run_job(body["job_id"])
        db.session.expire_all()
    got = client.get(url, headers=headers)
    assert got.status_code == 200, got.get_json()
    return {**got.get_json(), "requested": body}


def test_a_document_gets_grounded_material_once_and_from_the_cache_after(client):
    user = make_user()
    headers = auth_headers(client, user)
    document = make_document(user, ML)
    url = f"/api/v1/documents/{document.id}/study"
    assert client.get(url, headers=headers).get_json()["error"]["code"] == "STUDY_NOT_FOUND"
    body = _made(client, headers, url)
    assert body["status"] == "completed" and body["provider"] == "offline" and body["requested"]["cached"] is False
    assert set(body) >= {"summary", "key_terms", "flashcards", "quiz"}
    assert body["summary"] and len(body["key_terms"]) >= 5 and body["flashcards"] and body["quiz"]
    assert_grounded(body, ML)
    job = db.session.get(Job, body["requested"]["job_id"])
    assert job.kind == "study" and job.status == "completed" and job.progress == 100
    assert job.result["key_terms"] == len(body["key_terms"])
    again = client.post(url, headers=headers)
    assert again.status_code == 202 and again.get_json()["cached"] is True
    assert again.get_json()["status"] == "completed"
    assert Job.query.filter_by(kind="study").count() == 1  # the cache answered: no second job
    # the same pages uploaded again as another document answer from the first one's material
    twin = make_document(user, ML, filename="copy.pdf")
    copied = client.post(f"/api/v1/documents/{twin.id}/study", headers=headers).get_json()
    assert copied["cached"] is True and Job.query.filter_by(kind="study").count() == 1
    assert client.get(f"/api/v1/documents/{twin.id}/study", headers=headers).get_json()["quiz"] == body["quiz"]


def test_changed_text_makes_the_material_again(client):
    user = make_user()
    headers = auth_headers(client, user)
    document = make_document(user, ML[:2])
    url = f"/api/v1/documents/{document.id}/study"
    first = _made(client, headers, url)
    from backend_app.models.documents import DocumentPage

    page = DocumentPage.query.filter_by(document_id=document.id, number=2).one()
    page.text += " Backpropagation is a method that computes the gradient of the loss for every weight."
    db.session.commit()
    second = _made(client, headers, url)
    assert second["requested"]["cached"] is False and second["requested"]["job_id"] != first["requested"]["job_id"]
    assert "Backpropagation" in {k["term"] for k in second["key_terms"]}
    assert StudyMaterial.query.filter_by(document_id=document.id).count() == 1  # one row per document


def test_refusals_are_coded_and_other_users_see_nothing(client):
    owner, stranger = make_user(), make_user()
    owner_h, stranger_h = auth_headers(client, owner), auth_headers(client, stranger)
    document = make_document(owner, ML)
    pending = make_document(owner, ML, status="processing")
    empty = make_document(owner, [(1, "   ", [])])
    assert client.post(f"/api/v1/documents/{pending.id}/study", headers=owner_h).get_json()["error"]["code"] == (
        "DOCUMENT_NOT_READY"
    )
    refused = client.post(f"/api/v1/documents/{empty.id}/study", headers=owner_h)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "STUDY_NO_TEXT"
    bare = sessions.create(Tenant(owner.id), "No documents")
    refused = client.post(f"/api/v1/sessions/{bare.id}/study", headers=owner_h)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "STUDY_NO_TEXT"
    _made(client, owner_h, f"/api/v1/documents/{document.id}/study")
    session_url = f"/api/v1/sessions/{document.session_id}/study"
    for method, url in [
        ("post", f"/api/v1/documents/{document.id}/study"),
        ("get", f"/api/v1/documents/{document.id}/study"),
        ("get", f"/api/v1/documents/{document.id}/study/export?part=flashcards&format=tsv"),
        ("get", f"/api/v1/documents/{document.id}/study/export?part=quiz&format=json"),
        ("post", session_url),
        ("get", session_url),
    ]:
        response = getattr(client, method)(url, headers=stranger_h)
        assert response.status_code == 404, (url, response.get_json())
        assert response.get_json()["error"]["code"] in ("DOCUMENT_NOT_FOUND", "SESSION_NOT_FOUND")
    card = client.get(f"/api/v1/documents/{document.id}/study", headers=owner_h).get_json()["flashcards"][0]
    from backend_app.services.study.reviews import card_key

    review = client.post(
        f"/api/v1/documents/{document.id}/study/reviews",
        json={"card": card_key(card), "knew": True},
        headers=stranger_h,
    )
    assert review.status_code == 404 and FlashcardReview.query.count() == 0


def test_a_session_studies_all_its_documents_and_cites_document_and_page(client):
    user = make_user()
    headers = auth_headers(client, user)
    session = sessions.create(Tenant(user.id), "Course")
    first = make_document(user, ML[:2], session=session, filename="one.pdf")
    renumbered = [(n - 2, t, h) for n, t, h in ML[2:]]
    second = make_document(user, renumbered, session=session, filename="two.pdf")
    make_document(user, [(1, "Quasar is a luminous nucleus of a distant galaxy.", [])], session=session,
                  status="failed")  # fmt: skip
    body = _made(client, headers, f"/api/v1/sessions/{session.id}/study")
    assert body["scope"] == "session" and body["page_count"] == 4
    text = {(first.id, n): t for n, t, _h in ML[:2]} | {(second.id, n - 2): t for n, t, _h in ML[2:]}
    from backend_app.services.study.text import contains

    items = body["key_terms"] + body["flashcards"] + body["quiz"]
    assert {i["document_id"] for i in items} == {first.id, second.id}  # never the failed document
    for item in items:
        answer = item.get("term") or item["answer"]
        assert contains(text[(item["document_id"], item["page"])], answer), item
    terms = {k["term"]: (k["document_id"], k["page"]) for k in body["key_terms"]}
    assert terms["Epoch"] == (second.id, 1) and terms["Gradient descent"] == (first.id, 2)


def test_exports_are_anki_tsv_csv_json_and_markdown_and_formula_safe(client, openai_app, fake_openai):
    """The model may answer with text a spreadsheet runs: every export cell starting a formula is neutralised."""
    user = make_user()
    headers = auth_headers(client, user)
    page_one = 'Cells such as =HYPERLINK("http://evil") or @SUM(A1:A2) run when a spreadsheet opens them.'
    pages = [(1, page_one, []), (2, "Gradient descent is a method that follows the negative gradient.", [])]
    fake_openai.responder = lambda request: json.dumps(
        {
            "summary": "Spreadsheets run formulas; gradient descent follows gradients.",
            "key_terms": [{"term": "Gradient descent", "definition": "a method", "page": 2}],
            "flashcards": [
                {"question": "Which\tcell opens\na link?", "answer": '=HYPERLINK("http://evil")', "page": 1},
                {"question": "-What sums two cells?", "answer": "@SUM(A1:A2)", "page": 1},
                {"question": "What follows the negative gradient?", "answer": "Gradient descent", "page": 2},
            ],
            "quiz": [
                {
                    "question": "Which runs?",
                    "options": ["@SUM(A1:A2)", "Gradient descent"],
                    "answer": "@SUM(A1:A2)",
                    "page": 1,
                },  # fmt: skip
            ],
        }
    )
    document = make_document(user, pages)
    base = f"/api/v1/documents/{document.id}/study"
    body = _made(client, headers, base)
    assert body["provider"] == "openai" and len(body["flashcards"]) == 3

    tsv = client.get(f"{base}/export?part=flashcards&format=tsv", headers=headers)
    assert tsv.status_code == 200 and tsv.mimetype == "text/tab-separated-values"
    assert "attachment" in tsv.headers["Content-Disposition"] and tsv.headers["Cache-Control"] == "no-store"
    lines = tsv.get_data(as_text=True).splitlines()
    assert lines[:3] == ["#separator:tab", "#html:false", "#tags column:3"]
    notes = [line.split("\t") for line in lines[3:]]
    assert len(notes) == len(body["flashcards"]) and all(len(n) == 3 for n in notes)
    assert all(not cell.startswith(("=", "+", "-", "@")) for n in notes for cell in n)
    assert notes[0] == ["Which cell opens a link?", '\'=HYPERLINK("http://evil")', "page_1"]
    assert notes[1] == ["'-What sums two cells?", "'@SUM(A1:A2)", "page_1"]

    rows = list(csv.reader(io.StringIO(client.get(f"{base}/export?part=flashcards&format=csv", headers=headers)
                                       .get_data(as_text=True))))  # fmt: skip
    assert rows[0] == ["question", "answer", "page", "document_id"] and len(rows) == len(body["flashcards"]) + 1
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert rows[1][:2] == ["Which\tcell opens\na link?", '\'=HYPERLINK("http://evil")']
    assert rows[2][:2] == ["'-What sums two cells?", "'@SUM(A1:A2)"]
    assert {int(r[2]) for r in rows[1:]} <= {1, 2} and {r[3] for r in rows[1:]} == {document.id}

    quiz = json.loads(client.get(f"{base}/export?part=quiz&format=json", headers=headers).get_data(as_text=True))
    assert quiz["quiz"] == body["quiz"]
    md = client.get(f"{base}/export?part=quiz&format=md", headers=headers).get_data(as_text=True)
    assert md.startswith("# Quiz") and md.count("- [x] ") == len(body["quiz"])
    assert f"(page {body['quiz'][0]['page']})" in md
    wrong = client.get(f"{base}/export?part=quiz&format=tsv", headers=headers)
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "EXPORT_FORMAT_INVALID"


def test_reviews_move_cards_through_leitner_boxes(client):
    from backend_app.services.study.reviews import card_key

    user = make_user()
    headers = auth_headers(client, user)
    document = make_document(user, ML)
    body = _made(client, headers, f"/api/v1/documents/{document.id}/study")
    key = card_key(body["flashcards"][0])
    url = f"/api/v1/documents/{document.id}/study/reviews"
    first = client.post(url, json={"card": key, "knew": True}, headers=headers).get_json()
    assert first["box"] == 2 and first["interval_days"] == 1
    assert first["counts"]["due"] == len(body["flashcards"]) - 1
    second = client.post(url, json={"card": key, "knew": True}, headers=headers).get_json()
    assert second["box"] == 3 and second["interval_days"] == 3 and second["due_at"] > first["due_at"]
    lapse = client.post(url, json={"card": key, "knew": False}, headers=headers).get_json()
    assert lapse["box"] == 1 and lapse["lapses"] == 1 and lapse["reviews"] == 3
    assert lapse["counts"]["due"] == len(body["flashcards"])
    missing = client.post(url, json={"card": "nope", "knew": True}, headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "FLASHCARD_NOT_FOUND"
    bad = client.post(url, json={"card": key}, headers=headers)
    assert bad.status_code in (400, 422)


def test_a_real_worker_makes_the_material_of_fifty_pages(client, start_worker):
    user = make_user()
    headers = auth_headers(client, user)
    pages, defined = textbook(50, german_every=5)
    document = make_document(user, pages)
    start_worker(1)
    url = f"/api/v1/documents/{document.id}/study"
    assert client.post(url, headers=headers).status_code == 202

    def done():
        db.session.expire_all()
        return client.get(url, headers=headers).get_json()["status"] in ("completed", "failed")

    wait_until(done, timeout_s=120, message="study job finished")
    body = client.get(url, headers=headers).get_json()
    assert body["status"] == "completed", body
    assert body["page_count"] == 50 and len(body["key_terms"]) == 30
    assert_grounded(body, pages)
    assert all(defined[k["term"]] == k["page"] for k in body["key_terms"])


def test_requests_at_the_same_moment_make_one_row_and_one_job(app, client):
    from concurrent.futures import ThreadPoolExecutor

    user = make_user()
    headers = auth_headers(client, user)
    document = make_document(user, ML)
    url = f"/api/v1/documents/{document.id}/study"

    def post(_):
        with app.test_client() as own:
            return own.post(url, headers=headers)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(post, range(6)))
    assert [a.status_code for a in answers] == [202] * 6, [a.get_json() for a in answers]
    db.session.expire_all()
    assert StudyMaterial.query.filter_by(document_id=document.id).count() == 1
    assert Job.query.filter_by(kind="study").count() == 1
    assert len({a.get_json()["material_id"] for a in answers}) == 1
