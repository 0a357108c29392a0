"""Every page of the web blueprint, for a user with no data and for one with data.

The list of pages comes from the app's URL map, so a new page is covered the day it lands:
its owner answers 200, a user without data gets 200 on the top-level pages and 404 on
somebody else's objects, and never sees the owner's markers.
"""

from __future__ import annotations

import pytest

from backend_app.extensions import db
from backend_app.models import ChatMessage, UsageRecord
from backend_app.services import sessions
from backend_app.tenancy import Tenant
from tests.web.conftest import text
from tests.web.test_analysis_pages import completed_analysis
from tests.web.test_batch_pages import TABLE, _batch_id

pytestmark = pytest.mark.sqlite_only
LIVE_STREAMS = {"web.batch_stream_page"}  # follows a running batch: covered in test_batch_pages
REDIRECTS = {"web.home"}
MARKER = "Zanzibar-marker"


def _page_urls(app, ids: dict[str, str | int]) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web.") or "GET" not in rule.methods or rule.endpoint in LIVE_STREAMS:
            continue
        urls.append((rule.endpoint, rule.build({name: ids[name] for name in rule.arguments}, append_unknown=False)[1]))
    return sorted(urls)


def _owner_data(page, app) -> dict:
    tenant = Tenant(page.user.id)
    session = sessions.create(tenant, f"Session {MARKER}")
    analysis = completed_analysis(page.user.id, session.id)
    batch_id = _batch_id(text(page.post("/requirements/batches", data={"markdown": TABLE})))
    db.session.add(ChatMessage(user_id=page.user.id, role="user", content=f"question {MARKER}"))
    db.session.add(UsageRecord(user_id=page.user.id, purpose="chat", model=f"model-{MARKER}", cost_usd=0.01))
    db.session.commit()
    return {
        "session_id": session.id,
        "analysis_id": analysis.id,
        "batch_id": batch_id,
        "index": 0,
        "fmt": "csv",
        "person_id": "p1",
    }


def test_every_page_for_owner_and_for_a_user_without_data(app, page, other_page, redis_server):
    ids = _owner_data(page, app)
    urls = _page_urls(app, ids)
    assert len(urls) >= 15, urls
    for endpoint, url in urls:
        if endpoint.startswith("web.admin_"):
            continue
        response = page.get(url)
        body = response.get_data()  # reads streamed bodies (the export zip) to the end
        ok = 302 if endpoint in REDIRECTS else 200
        assert response.status_code == ok, (url, response.status_code, body[:300])
        foreign = other_page.get(url)
        has_ids = any(str(value) in url for value in ids.values() if isinstance(value, str) and len(value) > 5)
        assert foreign.status_code == (404 if has_ids else ok), (url, foreign.status_code)
        assert MARKER.encode() not in foreign.get_data(), url


def test_admin_pages_render_with_and_without_data(app, admin_page, page, redis_server):
    empty = [
        u
        for e, u in _page_urls(
            app, {"session_id": "x", "analysis_id": "x", "batch_id": "x", "index": 0, "fmt": "csv", "person_id": "p1"}
        )
        if e.startswith("web.admin_")
    ]
    for url in empty:
        assert admin_page.get(url).status_code == 200, url
    _owner_data(page, app)
    for url in empty:
        response = admin_page.get(url)
        assert response.status_code == 200 and "<html" in text(response), url


def test_every_form_refuses_a_request_without_the_csrf_token(app, admin_page):
    """Each POST of a page checks the token before the view runs (login/register: the pre-sign-in token)."""
    fake = {
        "session_id": "s",
        "analysis_id": "a",
        "batch_id": "b",
        "job_id": "j",
        "key": "use_v2",
        "key_id": "k",
        "user_id": "u",
        "action": "promote",
        "index": 0,
        "fmt": "csv",
    }
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web.") or "POST" not in rule.methods:
            continue
        url = rule.build({name: fake[name] for name in rule.arguments}, append_unknown=False)[1]
        response = admin_page.post(url, data={"name": "x", "message": "x"}, csrf=False)
        assert response.status_code == 403 and b"CSRF_FAILED" in response.get_data(), url
        checked += 1
    assert checked >= 17
