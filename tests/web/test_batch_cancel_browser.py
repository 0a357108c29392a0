"""The batch page's Cancel button in a real browser (Chromium): htmx posts it with the CSRF
token, the button becomes a note, and the live stream then shows the batch canceled."""

from __future__ import annotations

import pytest

from backend_app.extensions import db
from backend_app.models import RequirementBatch
from tests.web.live import wait_for_htmx
from tests.web.test_browser_journey import WATCH_CSP, csp_violations, sign_up

pytestmark = pytest.mark.sqlite_only
TABLE = """| id | requirementText | context |
|----|-----------------|---------|
| R1 | The system should respond quickly. | |
| R2 | The exporter shall write the monthly report as PDF within 5 s. | |
"""


def test_cancel_a_waiting_batch_from_its_page(app, live_server, browser):
    # No worker: the batch waits, so the page offers Cancel.
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm asks first
    sign_up(page, live_server.url, "canceller@example.test")
    page.goto(f"{live_server.url}/requirements")
    page.fill("[data-testid=batch-markdown]", TABLE)
    page.click("[data-testid=batch-submit]")
    page.locator("[data-testid=batch][data-status=queued]").wait_for()
    wait_for_htmx(page, "form#batch-cancel")  # clicked before htmx binds it, the form posts as a page
    page.click("[data-testid=batch-cancel]")

    page.locator("[data-testid=batch-canceled]").wait_for()
    page.locator("[data-testid=batch][data-status=canceled]").wait_for()  # the stream's final event
    assert page.locator("[data-testid=batch-status]").inner_text() == "canceled"
    assert page.locator("[data-testid=batch-cancel]").count() == 0
    batch_id = page.locator("[data-testid=batch]").get_attribute("data-batch")
    db.session.rollback()
    assert db.session.get(RequirementBatch, batch_id).job.status == "canceled"
    assert errors + csp_violations(page) == []
    context.close()


def test_the_cancel_note_shows_when_the_stream_tells_the_end_first(app, live_server, browser):
    """The stream polls every 0.25 s: on a loaded machine it said "canceled" (and took the form
    away) before the button's own response arrived, and the note never showed. Here the response
    is held until the page has heard the end from the stream."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_up(page, live_server.url, "late-note@example.test")
    page.goto(f"{live_server.url}/requirements")
    page.fill("[data-testid=batch-markdown]", TABLE)
    page.click("[data-testid=batch-submit]")
    page.locator("[data-testid=batch][data-status=queued]").wait_for()
    wait_for_htmx(page, "form#batch-cancel")
    heard_first: list[str] = []

    def hold_the_answer(route):
        response = route.fetch()  # the server cancels the batch now
        page.wait_for_function("() => document.getElementById('batch').dataset.status === 'canceled'")
        heard_first.append(page.locator("[data-testid=batch-status]").inner_text())
        route.fulfill(response=response)

    page.route("**/requirements/batches/*/cancel", hold_the_answer)
    page.click("[data-testid=batch-cancel]")

    page.locator("[data-testid=batch-canceled]").wait_for()
    assert heard_first == ["canceled"]
    assert page.locator("[data-testid=batch-cancel]").count() == 0
    context.close()
