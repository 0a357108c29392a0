"""Study pages: the material (polling while it is made), flashcards with Leitner boxes, the quiz,
CSRF, and nothing of it for another user."""

from __future__ import annotations

import re

import pytest

from backend_app.extensions import db
from backend_app.jobs.runner import run_job
from backend_app.models.study import FlashcardReview, StudyMaterial
from tests.services.study.test_offline import ML
from tests.study_text import make_document
from tests.web.conftest import text

pytestmark = pytest.mark.sqlite_only
CARD = re.compile(r'data-card="([0-9a-f]+)"')


def _studied(page, pages=ML):
    document = make_document(page.user, pages)
    base = f"/documents/{document.id}/study"
    assert page.post(base).status_code == 303
    row = StudyMaterial.query.filter_by(document_id=document.id).one()
    polling = page.get(base, htmx=True)
    assert polling.headers["Vary"] == "HX-Request" and 'hx-trigger="every 2s"' in text(polling)
    run_job(row.job_id)
    db.session.expire_all()
    return document, base, db.session.get(StudyMaterial, row.id)


def test_the_material_page_makes_polls_and_shows_terms_with_page_links(page):
    document = make_document(page.user, ML)
    base = f"/documents/{document.id}/study"
    first = text(page.get(base))
    assert 'data-testid="make-study"' in first and "csrf_token" in first
    assert page.post(base, csrf=False).status_code == 403
    _document, _base, row = _studied(page)
    done = page.get(_base, htmx=True)
    body = text(done)
    assert "every 2s" not in body and 'data-testid="key-terms"' in body
    for term in row.data["key_terms"]:
        assert f'href="/documents/{_document.id}?page={term["page"]}"' in body
    assert "Machine learning" in body and row.data["summary"][:40] in body
    assert f"/api/v1/documents/{_document.id}/study/export?part=flashcards&amp;format=tsv" in body
    download = page.get(f"/api/v1/documents/{_document.id}/study/export?part=flashcards&format=tsv")
    assert download.status_code == 200 and download.mimetype == "text/tab-separated-values"  # the page's cookies do


def test_flashcards_flip_and_move_through_boxes_per_user(page, other_page):
    document, base, row = _studied(page)
    cards = row.data["flashcards"]
    html = text(page.get(f"{base}/flashcards"))
    first_key = CARD.search(html).group(1)
    assert "<details" in html and cards[0]["answer"] in html and "0 / 0 / 0 / 0" in html
    assert f"{len(cards)} of {len(cards)} card(s) due" in html
    assert page.post(f"{base}/flashcards/review", data={"card": first_key, "knew": "1"}, csrf=False).status_code == 403
    after = text(page.post(f"{base}/flashcards/review", data={"card": first_key, "knew": "1"}, htmx=True))
    assert CARD.search(after).group(1) != first_key  # the known card waits a day
    assert f"{len(cards) - 1} of {len(cards)} card(s) due" in after
    second_key = CARD.search(after).group(1)
    again = text(page.post(f"{base}/flashcards/review", data={"card": second_key, "knew": "0"}, htmx=True))
    assert f"{len(cards) - 1} of {len(cards)} card(s) due" in again  # "again" keeps it due
    assert CARD.search(again).group(1) != second_key  # … behind the cards already waiting
    review = FlashcardReview.query.filter_by(user_id=page.user.id, card_key=first_key).one()
    assert review.box == 2 and review.interval_days == 1
    assert FlashcardReview.query.filter_by(user_id=page.user.id, card_key=second_key).one().lapses == 1
    for url in (base, f"{base}/flashcards", f"{base}/quiz"):
        assert other_page.get(url).status_code == 404, url
    stolen = other_page.post(f"{base}/flashcards/review", data={"card": first_key, "knew": "1"})
    assert stolen.status_code == 404 and FlashcardReview.query.filter_by(user_id=other_page.user.id).count() == 0


def test_the_quiz_scores_answers_and_links_each_answer_to_its_page(page):
    document, base, row = _studied(page)
    quiz = row.data["quiz"]
    form = text(page.get(f"{base}/quiz"))
    assert form.count('data-testid="quiz-question"') == len(quiz)
    answers = {f"q{i}": q["answer"] for i, q in enumerate(quiz)}
    answers["q0"] = next(o for o in quiz[0]["options"] if o != quiz[0]["answer"])
    scored = text(page.post(f"{base}/quiz", data=answers, htmx=True))
    assert f"{len(quiz) - 1} of {len(quiz)} right." in scored
    assert scored.count('data-right="no"') == 1 and scored.count('data-right="yes"') == len(quiz) - 1
    links = re.findall(r'href="(/documents/[0-9a-f]+\?page=\d+)" data-testid="quiz-page-link"', scored)
    assert links == [f"/documents/{document.id}?page={q['page']}" for q in quiz]
    assert page.post(f"{base}/quiz", data=answers, csrf=False).status_code == 403


def test_pages_before_any_material_say_so(page):
    document = make_document(page.user, ML)
    for part in ("flashcards", "quiz"):
        response = page.get(f"/documents/{document.id}/study/{part}")
        assert response.status_code == 200 and 'data-testid="study-not-made"' in text(response)
    session_page = page.get(f"/sessions/{document.session_id}/study")
    assert session_page.status_code == 200 and 'data-testid="make-study"' in text(session_page)


def test_a_sessions_material_links_each_item_to_its_own_documents_page(page):
    from backend_app.services import sessions
    from backend_app.tenancy import Tenant

    session = sessions.create(Tenant(page.user.id), "Course")
    first = make_document(page.user, ML[:2], session=session)
    second = make_document(page.user, [(n - 2, t, h) for n, t, h in ML[2:]], session=session)
    assert 'data-testid="study-session"' in text(page.get(f"/sessions/{session.id}"))
    base = f"/sessions/{session.id}/study"
    assert page.post(base).status_code == 303
    row = StudyMaterial.query.filter_by(session_id=session.id, scope="session").one()
    run_job(row.job_id)
    body = text(page.get(base))
    assert f'href="/documents/{first.id}?page=2"' in body  # Gradient descent
    assert f'href="/documents/{second.id}?page=1"' in body  # Epoch, page 3 of the session, page 1 of its file
    quiz = text(page.post(f"{base}/quiz", data={}, htmx=True))
    assert "0 of" in quiz and f"/documents/{second.id}?page=" in quiz
