"""Pages and sign-in families: the silent refresh rotates the refresh cookie, concurrent requests
with the old cookie are not a replay inside the grace window, a replay after it ends the sign-in,
and the account page signs out everywhere (issue 26)."""

from __future__ import annotations

import threading

import pytest
from flask import g
from flask_jwt_extended import decode_token

from tests.factories import login, make_user
from tests.web.conftest import PageClient, text

pytestmark = pytest.mark.sqlite_only


def _expire_access(client) -> None:
    """As the browser after 15 minutes: the access cookie is gone, the refresh cookie stays."""
    client.delete_cookie("access_token_cookie", path="/")


def _refresh_cookie(client) -> str:
    return client.get_cookie("refresh_token_cookie").value


def _copy(app, source, names=("refresh_token_cookie",)):
    """Another connection of the same browser: the same cookies, sent at the same moment."""
    twin = app.test_client()
    for name in names:
        twin.set_cookie(name, source.get_cookie(name).value, path="/")
    return twin


def test_silent_refresh_rotates_the_refresh_cookie_and_keeps_the_csrf_value(app, page):
    old = _refresh_cookie(page.client)
    _expire_access(page.client)
    g.pop("user", None)
    assert page.get("/sessions").status_code == 200
    new = _refresh_cookie(page.client)
    assert new != old and decode_token(new)["fam"] == decode_token(old)["fam"]
    assert decode_token(new)["csrf"] == decode_token(old)["csrf"] == page.csrf  # open forms stay valid
    assert page.client.get_cookie("access_token_cookie") is not None
    assert page.post("/sessions", data={"name": "after the rotation"}).status_code in (200, 303)


def test_concurrent_requests_with_the_old_cookie_are_not_a_replay(app, page):
    _expire_access(page.client)
    twins = [_copy(app, page.client) for _ in range(6)]
    statuses, rotated = [], []

    def open_page(twin):
        response = twin.get("/sessions")
        statuses.append(response.status_code)
        rotated.append(any("refresh_token_cookie=" in c for c in response.headers.getlist("Set-Cookie")))

    threads = [threading.Thread(target=open_page, args=(twin,)) for twin in twins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6  # nobody is locked out
    assert rotated.count(True) == 1  # one request rotated; the others changed no cookie
    winner = twins[rotated.index(True)]
    g.pop("user", None)
    assert winner.get("/sessions").status_code == 200  # the sign-in lives on
    # Any duplicate's next request (still the old cookie, inside the window) is served too.
    loser = twins[rotated.index(False)]
    assert loser.get("/sessions").status_code == 200


@pytest.mark.settings(refresh_reuse_grace_s=0)
def test_the_old_cookie_after_the_window_is_a_replay_and_ends_the_sign_in(app, page):
    thief = _copy(app, page.client)
    _expire_access(page.client)
    assert page.get("/sessions").status_code == 200  # the owner's browser rotates
    g.pop("user", None)
    assert thief.get("/sessions").status_code == 302  # the copied, used-up cookie: a replay
    g.pop("user", None)
    assert page.get("/sessions").status_code == 302  # the whole sign-in ended, the owner's too


def test_page_logout_ends_the_refresh_token(app, page):
    refresh_token = _refresh_cookie(page.client)
    assert page.post("/logout").status_code == 303
    r = app.test_client().post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh_token}"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "TOKEN_REVOKED"


def test_account_page_signs_out_everywhere(app):
    user = make_user()
    laptop, phone = PageClient(app.test_client(), user), PageClient(app.test_client(), user)
    api = login(app.test_client(), user.email)
    bystander = PageClient(app.test_client(), make_user())
    assert 'data-testid="logout-all"' in text(laptop.get("/account"))

    assert laptop.post("/account/logout-all", csrf=False).status_code == 403
    response = laptop.post("/account/logout-all")
    assert response.status_code == 303 and "everywhere=1" in response.headers["Location"]
    g.pop("user", None)
    assert "signed out everywhere" in text(laptop.client.get(response.headers["Location"]))
    for device in (laptop, phone):
        g.pop("user", None)
        assert device.get("/sessions").status_code == 302
    r = app.test_client().post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {api['refresh_token']}"})
    assert r.status_code == 401
    g.pop("user", None)
    assert bystander.get("/sessions").status_code == 200
