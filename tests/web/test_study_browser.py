"""Study pages in a real browser (Chromium): make the material, flip a flashcard, answer "knew it"
and "again" through htmx (with the CSRF token), and score the quiz; no script or CSP error."""

from __future__ import annotations

import pytest

from backend_app.extensions import db
from backend_app.jobs.runner import run_job
from backend_app.models import User
from backend_app.models.study import FlashcardReview, StudyMaterial
from tests.services.study.test_offline import ML
from tests.study_text import make_document
from tests.web.live import open_by_click
from tests.web.test_browser_journey import WATCH_CSP, csp_violations, sign_up

pytestmark = pytest.mark.sqlite_only


def test_flashcards_and_quiz_in_a_browser(app, live_server, browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_up(page, live_server.url, "student@example.test")
    db.session.rollback()
    user = User.query.filter_by(email="student@example.test").one()
    document = make_document(user, ML)
    base = f"{live_server.url}/documents/{document.id}/study"

    page.goto(base)
    page.click("[data-testid=make-study]")
    page.locator("[data-testid=study-progress]").wait_for()  # no worker: the page polls the queued job
    db.session.rollback()
    run_job(StudyMaterial.query.filter_by(document_id=document.id).one().job_id)
    page.locator("[data-testid=key-terms]").wait_for(timeout=15_000)  # the poll brought the material
    assert "Machine learning" in page.locator("[data-testid=key-terms]").inner_text()

    open_by_click(page, "[data-testid=open-flashcards]")
    card = page.locator("[data-testid=flashcard]")
    first = card.get_attribute("data-card")
    assert not page.locator("[data-testid=card-answer]").is_visible()
    page.click("[data-testid=card-flip] summary")
    assert page.locator("[data-testid=card-answer]").is_visible()
    page.click("[data-testid=knew-it]")
    page.locator(f"[data-testid=flashcard]:not([data-card='{first}'])").wait_for()  # the page's CSP forbids eval
    second = card.get_attribute("data-card")
    page.click("[data-testid=again]")
    page.locator(f"[data-testid=flashcard]:not([data-card='{second}'])").wait_for()
    db.session.rollback()
    boxes = {r.card_key: r.box for r in FlashcardReview.query.filter_by(user_id=user.id)}
    assert boxes == {first: 2, second: 1}

    page.goto(f"{base}/quiz")
    questions = page.locator("[data-testid=quiz-question]")
    asked = questions.count()
    assert asked >= 5
    for i in range(asked):
        questions.nth(i).locator("input[type=radio]").first.check()
    page.click("[data-testid=quiz-submit]")
    page.locator("[data-testid=quiz-score]").wait_for()
    assert page.locator("[data-testid=quiz-page-link]").count() == asked
    assert page.locator("[data-testid=quiz-score]").inner_text().endswith(f"of {asked} right.")
    assert errors + csp_violations(page) == []
    context.close()
