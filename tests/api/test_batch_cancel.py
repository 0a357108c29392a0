"""Canceling a requirement batch: its owner only; a running batch stops after the row it is on
and keeps what it stored; a waiting one never starts and frees its user's turn. A real worker
and the scripted Chat Completions server (tests/fake_openai.py)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, select

from backend_app.extensions import db
from backend_app.models import RequirementBatch, RequirementResult
from tests.factories import auth_headers, make_user
from tests.helpers import wait_until
from tests.jobs.kinds import FAST

# Runs are declared lost after 15 s without a heartbeat (not FAST's 3 s), so a saturated machine
# cannot make the reconciler take over a live run (an attempt these tests do not count on).
SETTINGS = {**FAST, "job_lost_after_s": 15}
pytestmark = [pytest.mark.sqlite_only, pytest.mark.settings(**SETTINGS)]


def _table(rows: int) -> str:
    lines = ["| id | requirementText | context |", "|---|---|---|"]
    lines += [f"| R-{i} | The valve {i} shall close within {i + 1} s of the alarm. | {{}} |" for i in range(rows)]
    return "\n".join(lines) + "\n"


def _submit(client, headers, rows: int) -> str:
    res = client.post("/api/v1/batch/evaluate", data=_table(rows), headers={**headers, "Content-Type": "text/markdown"})
    assert res.status_code == 202, res.get_json()
    return res.get_json()["batch_id"]


def _stored(batch_id: str) -> int:
    db.session.rollback()
    return db.session.execute(
        select(func.count()).select_from(RequirementResult).where(RequirementResult.batch_id == batch_id)
    ).scalar()


def _batch(batch_id: str) -> RequirementBatch:
    db.session.rollback()
    batch = db.session.get(RequirementBatch, batch_id, populate_existing=True)
    db.session.refresh(batch.job)
    return batch


@pytest.mark.settings(**{**SETTINGS, "llm_cache_ttl_s": 1})  # a row asked again would reach the server
def test_owner_cancels_a_running_batch_it_stops_after_its_row_and_keeps_the_rows(
    client, openai_app, fake_openai, start_worker
):
    asked, lock = [], threading.Lock()

    def responder(request):
        with lock:
            asked.append(time.time())
        time.sleep(0.4)
        return json.dumps({"findings": []})

    fake_openai.responder = responder
    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(max_parallel=1)
    start_worker(1)
    owner = {**auth_headers(client, make_user("admin")), "X-Force-Variant": "v2"}
    batch_id = _submit(client, owner, 20)
    wait_until(lambda: _stored(batch_id) >= 3, timeout_s=60, interval_s=0.05, message="3 rows stored")

    stranger = auth_headers(client, make_user())
    res = client.post(f"/api/v1/batch/{batch_id}/cancel", headers=stranger)
    assert res.status_code == 404 and res.get_json()["error"]["code"] == "BATCH_NOT_FOUND"

    at_cancel = _stored(batch_id)
    res = client.post(f"/api/v1/batch/{batch_id}/cancel", headers=owner)
    canceled_at = time.time()
    assert res.status_code == 200, res.get_json()
    assert res.get_json()["status"] == "canceled" and res.get_json()["finished_at"]

    # A stream opened now follows the batch until its run has stopped, so it has the last row too.
    stream = client.get(f"/api/v1/batch/{batch_id}/stream", headers=owner, buffered=False)
    events = "".join(c.decode() for c in stream.response)
    done = json.loads(events.split("event: done\ndata: ")[1].split("\n")[0])
    assert done["status"] == "canceled" and events.count("event: row") == done["done_rows"] == _stored(batch_id)

    # The run finishes the row it is on (at most the one in flight and the one it had ready), then stops.
    def quiet():
        with lock:
            last = max(asked)
        return time.time() - last > 2.0

    wait_until(quiet, timeout_s=30, interval_s=0.2, message="the model to hear nothing more")
    final = _stored(batch_id)
    assert at_cancel <= final <= at_cancel + 2 < 20
    with lock:
        assert len([t for t in asked if t > canceled_at]) <= 1  # no new row was started after the cancel

    batch = _batch(batch_id)
    assert (batch.job.status, batch.job.stage, batch.job.attempts) == ("canceled", "canceled", 1)
    assert batch.done_rows == final == done["done_rows"] and batch.summary["rows"] == final
    body = client.get(f"/api/v1/batch/{batch_id}", headers=owner).get_json()
    assert body["status"] == "canceled" and len(body["results"]) == final == body["done_rows"]
    exported = client.get(f"/api/v1/batch/{batch_id}/export?format=json", headers=owner).get_json()
    assert len(exported["results"]) == final

    again = client.post(f"/api/v1/batch/{batch_id}/cancel", headers=owner)  # twice is fine
    assert again.status_code == 200 and again.get_json()["status"] == "canceled"
    time.sleep(2.5)  # past the retry backoff: nothing runs it again
    assert _batch(batch_id).job.attempts == 1 and _stored(batch_id) == final

    # An admin's retry (the owner is one here) resumes it: only the rows not stored are asked about.
    with lock:
        calls_before = len(asked)
    job_id = _batch(batch_id).job_id
    assert client.post(f"/api/v1/admin/jobs/{job_id}/retry", headers=owner).status_code == 200
    wait_until(lambda: _batch(batch_id).job.status == "completed", timeout_s=90, message="the retried batch")
    assert _stored(batch_id) == 20
    with lock:
        assert len(asked) - calls_before == 20 - final


def test_a_waiting_batch_never_starts_and_its_users_next_batch_takes_the_turn(client, start_worker):
    headers = auth_headers(client, make_user())
    first = _submit(client, headers, 3)
    second = _submit(client, headers, 3)  # held behind the first (USER_JOB_SLOTS=1)
    assert _batch(second).job.dispatched_at is None
    res = client.post(f"/api/v1/batch/{first}/cancel", headers=headers)
    assert res.status_code == 200 and res.get_json()["status"] == "canceled"
    assert _batch(second).job.dispatched_at is not None  # released at once

    start_worker(1)
    wait_until(lambda: _batch(second).job.status == "completed", timeout_s=60, message="the second batch to run")
    time.sleep(1)
    batch = _batch(first)
    assert (batch.job.status, batch.job.attempts, _stored(first)) == ("canceled", 0, 0)


def test_a_finished_batch_cannot_be_canceled(client, worker):
    headers = auth_headers(client, make_user())
    batch_id = _submit(client, headers, 2)
    wait_until(lambda: _batch(batch_id).job.status == "completed", timeout_s=60, message="the batch to complete")
    res = client.post(f"/api/v1/batch/{batch_id}/cancel", headers=headers)
    error = res.get_json()["error"]
    assert res.status_code == 409 and error["code"] == "BATCH_FINISHED" and error["details"]["status"] == "completed"
