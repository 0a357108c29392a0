"""Sessions pages: list, create, delete; tenancy, CSRF, fragments and error pages."""

from __future__ import annotations

import pytest

from backend_app.extensions import db
from backend_app.models import Session
from tests.web.conftest import text


def test_empty_state_then_create_and_list(page):
    assert "No sessions yet" in text(page.get("/sessions"))
    response = page.post("/sessions", data={"name": "Spring shoot"})
    assert response.status_code == 303
    body = text(page.get("/sessions"))
    assert "Spring shoot" in body and "No sessions yet" not in body


@pytest.mark.sqlite_only
def test_create_with_htmx_returns_the_fragment_with_vary(page):
    response = page.post("/sessions", data={"name": "Via htmx"}, htmx=True)
    body = text(response)
    assert response.status_code == 200 and "Via htmx" in body and "<html" not in body
    assert response.headers["Vary"] == "HX-Request"
    full = page.get("/sessions")
    assert "<html" in text(full) and full.headers["Vary"] == "HX-Request"


@pytest.mark.sqlite_only
def test_form_error_says_what_to_do(page):
    body = text(page.post("/sessions", data={"name": "   "}, htmx=True))
    assert "A session name needs 1 to 200 characters." in body


@pytest.mark.sqlite_only
def test_csrf_is_refused_without_the_token(page):
    response = page.post("/sessions", data={"name": "forged"}, csrf=False)
    assert response.status_code == 403 and "reload the page" in text(response)
    assert db.session.query(Session).count() == 0
    forged = page.post("/sessions", data={"name": "forged", "csrf_token": "wrong"}, csrf=False)
    assert forged.status_code == 403


def test_another_users_session_is_a_404_page(page, other_page):
    page.post("/sessions", data={"name": "Private"})
    session = db.session.query(Session).filter_by(user_id=page.user.id).one()
    response = other_page.get(f"/sessions/{session.id}")
    assert response.status_code == 404 and "Not found" in text(response) and "Private" not in text(response)
    assert "Private" not in text(other_page.get("/sessions"))
    assert other_page.post(f"/sessions/{session.id}/delete").status_code == 404
    assert db.session.get(Session, session.id) is not None


@pytest.mark.sqlite_only
def test_delete_session(page):
    page.post("/sessions", data={"name": "Temporary"})
    session = db.session.query(Session).one()
    assert page.post(f"/sessions/{session.id}/delete").status_code == 303
    assert db.session.query(Session).count() == 0


@pytest.mark.sqlite_only
def test_unknown_page_is_a_404_page(page):
    response = page.get("/no/such/page")
    assert response.status_code == 404 and "<html" in text(response) and "Back to your sessions" in text(response)
