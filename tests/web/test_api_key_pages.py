"""The account page's API keys: create (shown once), list, revoke, with htmx and without."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import text

pytestmark = pytest.mark.sqlite_only
KEY = re.compile(r'value="(fw_[A-Za-z0-9_-]{43})"')


def test_create_shows_the_key_once_and_it_works_on_the_api(app, page, client):
    made = page.post(
        "/account/api-keys", data={"name": "nightly script", "scope": "read", "expires_in_days": "30"}, htmx=True
    )
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    html = text(made)
    key = KEY.search(html).group(1)
    assert "nightly script" in html and 'data-testid="key-list"' in html and "<html" not in html
    assert client.get("/api/v1/sessions", headers={"X-API-Key": key}).status_code == 200
    refused = client.post("/api/v1/sessions", json={"name": "x"}, headers={"X-API-Key": key})
    assert refused.get_json()["error"]["code"] == "INSUFFICIENT_SCOPE"

    account = text(page.get("/account"))
    assert key not in account and key[:9] in account  # listed by its prefix, never again in full
    row = re.search(r"<td>nightly script</td>(.*?)</tr>", account, re.S).group(1)
    scope, prefix, _created, last_used, expires = re.findall(r"<td>(.*?)</td>", row, re.S)[:5]
    assert scope == "read" and key.startswith(re.sub(r"</?code>|…", "", prefix))
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", last_used) and re.fullmatch(r"\d{4}-\d\d-\d\d", expires)
    audit = account.split('data-testid="key-audit"')[1]
    assert "<td>use (INSUFFICIENT_SCOPE)" not in audit and "<td>refuse (INSUFFICIENT_SCOPE)</td>" in audit
    assert "<code>POST /api/v1/sessions</code>" in audit and "<code>GET /api/v1/sessions</code>" in audit


def test_revoke_from_the_page_stops_the_key(app, page, client):
    made = text(page.post("/account/api-keys", data={"name": "ci", "scope": "write", "expires_in_days": ""}, htmx=True))
    key = KEY.search(made).group(1)
    key_id = client.get("/api/v1/me/api-keys", headers={"X-API-Key": key}).get_json()["keys"][0]["id"]
    revoked = page.post(f"/account/api-keys/{key_id}/revoke", htmx=True)
    assert revoked.status_code == 200 and 'data-testid="no-keys"' in text(revoked)
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": key}).get_json()["error"]["code"] == "API_KEY_REVOKED"
    # Without htmx: a redirect back to the account page; someone else's key is the 404 page.
    assert page.post(f"/account/api-keys/{key_id}/revoke").status_code == 404


def test_without_htmx_the_page_shows_the_key_and_errors_are_said(app, page, admin_page):
    made = page.post("/account/api-keys", data={"name": "plain form", "scope": "write"})
    assert made.status_code == 201 and "<html" in text(made) and KEY.search(text(made))
    bad = page.post("/account/api-keys", data={"name": "", "scope": "write"}, htmx=True)
    assert 'data-testid="key-error"' in text(bad) and "name" in text(bad)
    not_admin = page.post("/account/api-keys", data={"name": "x", "scope": "admin"})
    assert not_admin.status_code == 403 and "admin" in text(not_admin).lower()
    assert 'value="admin"' not in text(page.get("/account"))
    assert 'value="admin"' in text(admin_page.get("/account"))
    admin_key = admin_page.post("/account/api-keys", data={"name": "ops", "scope": "admin"}, htmx=True)
    assert KEY.search(text(admin_key))
