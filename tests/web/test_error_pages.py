"""Error pages (404/403/500) and error fragments for htmx requests."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tests.web.conftest import PageClient, text

pytestmark = pytest.mark.sqlite_only


def test_403_page_for_admin_pages(page):
    response = page.get("/admin/users")
    body = text(response)
    assert response.status_code == 403 and "Not allowed" in body and "ADMIN_REQUIRED" in body


def test_a_page_nobody_serves_still_shows_the_signed_in_menu(page):
    body = text(page.get("/no-such-page"))
    assert "Log out" in body and 'href="/login"' not in body


def test_a_page_nobody_serves_offers_sign_in_to_a_visitor(client):
    body = text(client.get("/no-such-page"))
    assert 'href="/login"' in body and "Log out" not in body


def test_404_fragment_for_htmx_is_retargeted_to_the_flash_area(page):
    response = page.get("/sessions/nope", htmx=True)
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#flash" and "<html" not in text(response)
    assert "No session with id" in text(response)


def test_500_page_hides_the_details(app):
    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom-for-test", "boom_for_test", explode)  # before the app's first request
    page = PageClient(app.test_client(), make_user())
    response = page.get("/boom-for-test")
    body = text(response)
    assert response.status_code == 500 and "Something went wrong" in body
    assert "secret internals" not in body and "INTERNAL_ERROR" in body
