"""Sign-in pages, the account page (export, delete) and the usage page."""

from __future__ import annotations

import io
import zipfile

import pytest
from flask import g
from flask_jwt_extended import decode_token

from backend_app.extensions import db
from backend_app.models import UsageRecord, User
from backend_app.services import sessions
from backend_app.tenancy import Tenant
from tests.factories import PASSWORD, form_csrf, login, make_user, page_login
from tests.web.conftest import text

pytestmark = pytest.mark.sqlite_only


def test_pages_redirect_to_login_when_signed_out(client):
    for url in ("/sessions", "/account", "/usage", "/admin/health"):
        response = client.get(url)
        assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    fragment = client.get("/sessions", headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith("/login")


def test_login_form_error_says_what_to_do(client, app):
    user = make_user()
    response = page_login(client, user.email, "wrong password")
    assert response.status_code == 401 and "Email or password is wrong." in text(response)


def test_register_shows_field_errors(client):
    response = client.post(
        "/register", data={"email": "not-an-email", "password": "short", "csrf_token": form_csrf(client, "/register")}
    )
    body = text(response)
    assert response.status_code == 422
    assert "must be a valid email address" in body and "at least 8 characters" in body


def _cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


@pytest.mark.parametrize("path", ["/login", "/register"])
def test_sign_in_forms_refuse_a_missing_or_foreign_csrf_token(app, path):
    """Login CSRF: another site cannot post its own credentials through a visitor's browser."""
    user = make_user()
    fields = {"email": user.email if path == "/login" else "new-person@example.test", "password": PASSWORD}
    browser, attacker = app.test_client(), app.test_client()
    form = browser.get(path)
    assert "HttpOnly" in form.headers["Set-Cookie"] and "SameSite=Lax" in form.headers["Set-Cookie"]
    assert form.headers["Cache-Control"] == "no-store"
    foreign = form_csrf(attacker, path)
    for token in (None, "", foreign, "not-the-token", "caf\u00e9"):
        data = fields if token is None else {**fields, "csrf_token": token}
        response = browser.post(path, data=data)
        assert response.status_code == 403 and b"CSRF_FAILED" in response.get_data(), token
        assert "reload the page" in text(response) and not _cookies(response), token
    cookieless = app.test_client()  # the right token but no cookie: a forged post cannot set one
    assert cookieless.post(path, data={**fields, "csrf_token": foreign}).status_code == 403
    htmx = browser.post(path, data=fields, headers={"HX-Request": "true", "X-CSRF-TOKEN": foreign})
    assert htmx.status_code == 403 and b"CSRF_FAILED" in htmx.get_data()
    assert browser.get_cookie("refresh_token_cookie") is None

    response = browser.post(path, data=fields, headers={"X-CSRF-TOKEN": form_csrf(browser, path)})
    assert response.status_code == 303 and browser.get_cookie("refresh_token_cookie") is not None
    assert browser.get_cookie("csrf_pre_session") is None  # signed in: the refresh token's CSRF takes over


def test_sign_in_form_token_stays_the_same_across_forms_and_retries(client):
    """Two open forms (log in, sign up) and a re-rendered form after a wrong password all keep working."""
    user = make_user()
    first = form_csrf(client, "/login")
    assert form_csrf(client, "/register") == first
    retry = client.post("/login", data={"email": user.email, "password": "wrong password", "csrf_token": first})
    assert retry.status_code == 401 and f'value="{first}"' in text(retry) and not _cookies(retry)
    assert page_login(client, user.email).status_code == 303


def test_logout_needs_csrf_and_then_signs_out(page):
    assert page.post("/logout", csrf=False).status_code == 403
    signed_in = page.get("/sessions")
    assert signed_in.status_code == 200
    assert signed_in.headers["Cache-Control"] == "no-store"  # Back after logout asks again, shows nothing old
    assert page.post("/logout").status_code == 303
    assert page.get("/sessions").status_code == 302


def test_another_users_access_token_in_the_cookies_is_no_sign_in(app, page, other_page):
    """A copied access token (15 minutes) must not become a page sign-in that outlives it: the
    sign-in is the refresh cookie's, an access token in the refresh cookie is none, and another
    user's access cookie is replaced by one for the refresh cookie's user, never renewed."""
    sessions.create(Tenant(other_page.user.id), "Victim's private session")
    stolen = login(app.test_client(), other_page.user.email)["access_token"]
    page.client.set_cookie("access_token_cookie", stolen, path="/")
    shown = page.get("/sessions")
    assert shown.status_code == 200 and "Victim" not in text(shown)
    minted = decode_token(page.client.get_cookie("access_token_cookie").value)
    assert minted["sub"] == page.user.id
    # A page write lands in the refresh cookie's account, not the access token's.
    assert page.post("/sessions", data={"name": "written"}).status_code in (200, 303)
    assert [s.name for s in sessions.list_for(Tenant(other_page.user.id))] == ["Victim's private session"]

    anonymous = app.test_client()
    anonymous.set_cookie("refresh_token_cookie", stolen, path="/")
    assert anonymous.get("/sessions").status_code == 302
    assert anonymous.get_cookie("access_token_cookie") is None


def test_account_page_exports_a_zip_of_own_data(page, other_page):
    sessions.create(Tenant(page.user.id), "Mine")
    sessions.create(Tenant(other_page.user.id), "Not mine")
    assert "Download export" in text(page.get("/account"))
    response = page.get("/account/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"Mine" in everything and b"Not mine" not in everything


def test_account_delete_needs_the_password(page):
    user_id = page.user.id
    response = page.post("/account/delete", data={"password": "not it"})
    assert response.status_code == 401 and "nothing was deleted" in text(response)
    assert db.session.get(User, user_id) is not None
    assert page.post("/account/delete", data={"password": PASSWORD}, csrf=False).status_code == 403
    response = page.post("/account/delete", data={"password": PASSWORD})
    assert response.status_code == 303
    g.pop("user", None)  # test requests share the test's app context (and g); a real request starts clean
    assert "were deleted" in text(page.client.get(response.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    assert page.get("/sessions").status_code == 302


def test_usage_page_empty_then_with_calls(page, other_page):
    assert "No AI calls yet" in text(page.get("/usage"))
    db.session.add(
        UsageRecord(
            user_id=page.user.id,
            purpose="chat",
            model="gpt-test",
            prompt_tokens=120,
            completion_tokens=30,
            cost_usd=0.25,
        )
    )
    db.session.add(
        UsageRecord(
            user_id=other_page.user.id,
            purpose="vision",
            model="other-model",
            prompt_tokens=1,
            completion_tokens=1,
            cost_usd=1.0,
        )
    )
    db.session.commit()
    body = text(page.get("/usage"))
    assert "gpt-test" in body and "$0.2500 of $10.00" in body
    assert 'data-quota="concurrent_jobs"' in body and "Uploads per hour: 30" in body
    assert "other-model" not in body and "vision" not in body
