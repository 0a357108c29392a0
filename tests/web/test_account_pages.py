"""Sign-in pages, the account page (export, delete) and the usage page."""

from __future__ import annotations

import io
import zipfile

import pytest
from flask import g

from backend_app.extensions import db
from backend_app.models import UsageRecord, User
from backend_app.services import sessions
from backend_app.tenancy import Tenant

from ..factories import PASSWORD, make_user
from .conftest import text

pytestmark = pytest.mark.sqlite_only


def test_pages_redirect_to_login_when_signed_out(client):
    for url in ("/sessions", "/account", "/usage", "/admin/health"):
        response = client.get(url)
        assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    fragment = client.get("/sessions", headers={"HX-Request": "true"})
    assert fragment.status_code == 401 and fragment.headers["HX-Redirect"].startswith("/login")


def test_login_form_error_says_what_to_do(client, app):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "wrong password"})
    assert response.status_code == 401 and "Email or password is wrong." in text(response)


def test_register_shows_field_errors(client):
    response = client.post("/register", data={"email": "not-an-email", "password": "short"})
    body = text(response)
    assert response.status_code == 422
    assert "must be a valid email address" in body and "at least 8 characters" in body


def test_logout_needs_csrf_and_then_signs_out(page):
    assert page.post("/logout", csrf=False).status_code == 403
    assert page.get("/sessions").status_code == 200
    assert page.post("/logout").status_code == 303
    assert page.get("/sessions").status_code == 302


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
    db.session.add(UsageRecord(user_id=page.user.id, purpose="chat", model="gpt-test", prompt_tokens=120,
                               completion_tokens=30, cost_usd=0.25))
    db.session.add(UsageRecord(user_id=other_page.user.id, purpose="vision", model="other-model",
                               prompt_tokens=1, completion_tokens=1, cost_usd=1.0))
    db.session.commit()
    body = text(page.get("/usage"))
    assert "gpt-test" in body and "$0.2500 of $10.00" in body
    assert "other-model" not in body and "vision" not in body
