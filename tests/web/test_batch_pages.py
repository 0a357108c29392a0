"""Requirement batches from the page: submit a table, see it run in a real worker, export."""

from __future__ import annotations

import pytest

from tests.helpers import wait_until
from tests.web.conftest import text

pytestmark = pytest.mark.sqlite_only
TABLE = """| id | requirementText | context |
|----|-----------------|---------|
| R1 | The system should respond quickly. | |
| R2 | The exporter shall write the monthly report as PDF within 5 s. | |
"""


def _batch_id(body: str) -> str:
    return body.split('data-batch="', 1)[1].split('"', 1)[0]


def test_submit_holds_the_text_then_the_worker_fills_the_rows(page, worker):
    response = page.post("/requirements/batches", data={"markdown": TABLE, "mode": "evaluate"})
    body = text(response)
    assert response.status_code == 201
    assert 'data-text="The system should respond quickly."' in body and "served by v1" in body
    batch_id = _batch_id(body)

    def finished():
        page_body = text(page.get(f"/requirements/batches/{batch_id}"))
        return page_body if 'data-status="completed"' in page_body else None

    later = wait_until(finished, timeout_s=60, message="the batch to complete")
    assert ">R1<" in later and ">R2<" in later and 'class="score score-' in later
    assert "The system should respond quickly." not in later  # the text is not stored
    stream = page.get(f"/requirements/batches/{batch_id}/stream")
    events = text(stream)
    assert stream.mimetype == "text/event-stream" and "event: row" in events and "event: done" in events
    assert f"/requirements/batches/{batch_id}" in text(page.get("/requirements"))  # listed for coming back
    csv = page.get(f"/requirements/batches/{batch_id}/export.csv")
    assert csv.status_code == 200 and "R1" in text(csv) and "attachment" in csv.headers["Content-Disposition"]


def test_bad_table_says_what_to_do(page):
    response = page.post("/requirements/batches", data={"markdown": "just some words", "mode": "evaluate"})
    assert response.status_code == 422 and "data-error-code" in text(response)
    empty = page.post("/requirements/batches", data={"markdown": "  "})
    assert "Paste a markdown table" in text(empty)


def test_a_table_whose_every_row_is_refused_says_why_for_each_row(page):
    table = "| id | requirementText | context |\n|---|---|---|\n| R1 | The pump shall stop. | plain words |\n"
    response = page.post("/requirements/batches", data={"markdown": table, "mode": "evaluate"})
    body = text(response)
    assert response.status_code == 422 and 'data-error-code="BATCH_NO_VALID_ROWS"' in body
    assert "Line 3 (R1): The context cell is not valid JSON" in body and "ROW_CONTEXT_INVALID" in body
    assert "plain words" in body  # the pasted table is kept for fixing


def test_other_users_batch_is_404(page, other_page, redis_server):
    body = text(page.post("/requirements/batches", data={"markdown": TABLE}))
    batch_id = _batch_id(body)
    assert batch_id not in text(other_page.get("/requirements"))
    for url in (
        f"/requirements/batches/{batch_id}",
        f"/requirements/batches/{batch_id}/stream",
        f"/requirements/batches/{batch_id}/export.json",
    ):
        assert other_page.get(url).status_code == 404, url


def test_submit_needs_csrf(page):
    assert page.post("/requirements/batches", data={"markdown": TABLE}, csrf=False).status_code == 403


def test_a_rewrite_batch_shows_its_rewrites_after_a_reload(page, worker):
    """The rewrites came only with the live rows; a reload of the finished page lost them, though
    the export still had them (held in Redis for the retention period)."""
    body = text(page.post("/requirements/batches", data={"markdown": TABLE, "mode": "rewrite"}))
    batch_id = _batch_id(body)

    def finished():
        page_body = text(page.get(f"/requirements/batches/{batch_id}"))
        return page_body if 'data-status="completed"' in page_body else None

    later = wait_until(finished, timeout_s=60, message="the batch to complete")
    assert 'data-testid="row-rewrite">→ The system shall respond' in later


def test_the_owner_cancels_a_waiting_batch_from_its_page(page, other_page, redis_server):
    """No worker runs here: the batch waits, its page offers Cancel (htmx swaps the button for a
    note), nobody else can cancel it, and the reloaded page says canceled without the button."""
    body = text(page.post("/requirements/batches", data={"markdown": TABLE}))
    batch_id = _batch_id(body)
    assert 'data-testid="batch-cancel"' in body and 'hx-post="/requirements/batches/' in body
    url = f"/requirements/batches/{batch_id}/cancel"
    assert page.post(url, csrf=False, htmx=True).status_code == 403
    assert other_page.post(url, htmx=True).status_code == 404

    swapped = page.post(url, htmx=True)
    assert swapped.status_code == 200 and 'id="batch-cancel"' in text(swapped)
    assert 'data-testid="batch-canceled"' in text(swapped) and "<html" not in text(swapped)
    reloaded = text(page.get(f"/requirements/batches/{batch_id}"))
    assert 'data-status="canceled"' in reloaded and 'data-testid="batch-cancel"' not in reloaded
    plain = page.post(url)  # without htmx: back to the batch page
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/requirements/batches/{batch_id}")
