"""Page-test helpers: a browser-like client signed in through the login form."""

from __future__ import annotations

import re

import pytest

from tests.factories import make_user, page_login

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


class PageClient:
    """A Flask test client signed in with cookies, sending the page's CSRF token like htmx does."""

    def __init__(self, client, user):
        self.client, self.user = client, user
        response = page_login(client, user.email)
        assert response.status_code == 303, response.get_data(as_text=True)
        self.csrf = client.get_cookie("csrf_refresh_token").value

    def get(self, url: str, htmx: bool = False, **kwargs):
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.get(url, headers=headers, **kwargs)

    def post(self, url: str, data: dict | None = None, htmx: bool = False, csrf: bool = True, **kwargs):
        headers = {"HX-Request": "true"} if htmx else {}
        if csrf:
            headers["X-CSRF-TOKEN"] = self.csrf
        return self.client.post(url, data=data or {}, headers=headers, **kwargs)


@pytest.fixture
def page(app):
    """A signed-in ordinary user's page client."""
    return PageClient(app.test_client(), make_user())


@pytest.fixture
def other_page(app):
    """A second, unrelated user."""
    return PageClient(app.test_client(), make_user())


@pytest.fixture
def admin_page(app):
    return PageClient(app.test_client(), make_user(role="admin"))


def text(response) -> str:
    return response.get_data(as_text=True)


from tests.web.live import browser, live_server  # noqa: E402,F401  (fixtures for the browser tests)
