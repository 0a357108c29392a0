"""Requirement batches that keep what they did, with a real `python worker.py` and a real
Chat Completions server (tests/fake_openai.py): rows stored one by one as they finish, a work
horse SIGKILLed midway and a hard time limit both resumed by the retry with the rows not
stored yet, and nothing else asked of the model again."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import select

from backend_app.extensions import db, get_queue
from backend_app.models import Job, RequirementBatch, RequirementResult
from tests.factories import auth_headers, make_user
from tests.helpers import wait_until
from tests.jobs.kinds import FAST
from tests.jobs.procs import kill_horse

# The model's cache keeps an answer for a second only: a row asked again after the retry's
# backoff reaches the server, so the server's log shows every evaluation a run made. A run is
# declared lost after 15 s without a heartbeat (not FAST's 3 s): on a saturated machine the
# reconciler would otherwise take over live runs and make attempts the test does not count on.
SETTINGS = {**FAST, "llm_cache_ttl_s": 1, "job_lost_after_s": 15}
pytestmark = [pytest.mark.sqlite_only, pytest.mark.settings(**SETTINGS)]


def _table(rows: int) -> str:
    lines = ["| id | requirementText | context |", "|---|---|---|"]
    lines += [f"| R-{i} | The pump {i} shall deliver {i} l/min within 2 s of the start. | {{}} |" for i in range(rows)]
    return "\n".join(lines) + "\n"


class Model:
    """A responder that answers after ``delay_s`` and logs (arrival time, requirement text)."""

    def __init__(self, delay_s: float):
        self.delay_s, self.asked, self._lock = delay_s, [], threading.Lock()

    def __call__(self, request: dict) -> str:
        text = json.loads(request["messages"][1]["content"])["requirementText"]
        with self._lock:
            self.asked.append((time.time(), text))
        time.sleep(self.delay_s)
        return json.dumps({"findings": []})

    def texts(self, after: float = 0.0) -> list[str]:
        with self._lock:
            return [text for at, text in self.asked if at > after]


def _submit(client, rows: int) -> tuple[str, dict]:
    headers = {**auth_headers(client, make_user("admin")), "X-Force-Variant": "v2", "Content-Type": "text/markdown"}
    res = client.post("/api/v1/batch/evaluate", data=_table(rows), headers=headers)
    assert res.status_code == 202, res.get_json()
    return res.get_json()["batch_id"], headers


def _stored(batch_id: str) -> dict[int, RequirementResult]:
    db.session.rollback()
    rows = db.session.execute(select(RequirementResult).where(RequirementResult.batch_id == batch_id)).scalars()
    return {r.row_index: r for r in rows}


def _job(batch_id: str) -> Job:
    db.session.rollback()
    return db.session.get(RequirementBatch, batch_id, populate_existing=True).job


def _finished(batch_id: str, timeout_s: float = 90) -> Job:
    def done():
        job = _job(batch_id)
        db.session.refresh(job)
        return job.is_finished and job

    return wait_until(done, timeout_s=timeout_s, interval_s=0.1, message="the batch's job to finish")


def _texts_of(indexes) -> set[str]:
    return {f"The pump {i} shall deliver {i} l/min within 2 s of the start." for i in indexes}


def test_each_row_is_stored_as_it_finishes_and_the_stream_moves_row_by_row(
    client, openai_app, fake_openai, start_worker
):
    # BATCH_SIZE=50 and 6 rows: before, nothing was stored until all six were done.
    fake_openai.responder = Model(delay_s=0.4)
    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(max_parallel=1, batch_size=50)
    start_worker(1)
    batch_id, _ = _submit(client, 6)
    seen = set()

    def watch():
        stored = len(_stored(batch_id))
        seen.add(stored)
        return _job(batch_id).is_finished

    wait_until(watch, timeout_s=60, interval_s=0.05, message="the batch to finish")
    assert _job(batch_id).status == "completed"
    assert len(seen & {1, 2, 3, 4, 5}) >= 3, f"rows were stored in bulk: counts seen {sorted(seen)}"

    # The stream a reader follows, from the submission on: progress one row at a time.
    batch2, headers = _submit(client, 5)
    res = client.get(f"/api/v1/batch/{batch2}/stream", headers=headers, buffered=False)
    assert res.status_code == 200
    done_rows, running_rows = [], []
    for block in "".join(c.decode() for c in res.response).split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields.get("event") == "progress":
            data = json.loads(fields["data"])
            done_rows.append(data["done_rows"])
            if data["status"] == "running":
                running_rows.append(data["done_rows"])
    assert done_rows == sorted(done_rows) and done_rows[-1] == 5
    assert len(set(running_rows) & {1, 2, 3, 4}) >= 2, f"progress jumped: {done_rows}"


def test_a_killed_work_horse_is_resumed_with_the_rows_not_stored_only(client, openai_app, fake_openai, start_worker):
    model = Model(delay_s=0.3)
    fake_openai.responder = model
    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(max_parallel=2)
    worker = start_worker(1)[0]
    batch_id, _ = _submit(client, 16)
    wait_until(lambda: len(_stored(batch_id)) >= 6, timeout_s=60, interval_s=0.05, message="6 rows stored")
    running = _job(batch_id)
    kill_horse(running)
    killed_at = time.time()
    before = _stored(batch_id)  # read after the kill: nothing more can be stored by that run
    assert 6 <= len(before) < 16

    job = _finished(batch_id)
    assert (job.status, job.attempts, job.error_code) == ("completed", 2, None), job.to_dict()
    after = _stored(batch_id)
    assert sorted(after) == list(range(16))
    assert all(after[i].id == row.id for i, row in before.items())  # the stored rows were kept as they were
    remaining = _texts_of(set(range(16)) - set(before))
    asked_again = model.texts(after=killed_at)
    assert set(asked_again) <= remaining, "the retry asked the model about rows it had stored"
    assert len(asked_again) == len(set(asked_again)) <= len(remaining)
    # What the killed run lost: at most the calls it had in flight and rows finished but not stored.
    assert len(model.texts()) <= 16 + 2 * 2
    assert worker.poll() is None
    assert _job(batch_id).result["rows"] == 16


@pytest.mark.settings(**{**SETTINGS, "llm_job_timeout_s": 5, "job_max_attempts": 6})
def test_a_batch_stopped_at_its_time_limit_resumes_on_retry(client, openai_app, fake_openai, start_worker):
    # Twelve rows of 0.5 s one at a time cannot fit in one 5 s attempt; each attempt stores what
    # it finished, so the retries (RQ's, after the backoff) finish the batch. (Six attempts: on a
    # saturated machine a horse's start eats into each attempt's 5 s.)
    model = Model(delay_s=0.5)
    fake_openai.responder = model
    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(max_parallel=1)
    start_worker(1)
    batch_id, _ = _submit(client, 12)
    between = wait_until(
        lambda: (j := _job(batch_id)).status == "queued" and j.attempts >= 1 and j,
        timeout_s=30,
        interval_s=0.05,
        message="the first attempt to stop at its time limit",
    )
    assert between.error_code == "JOB_TIMEOUT" and "resumes" in between.error_message
    stored_then = len(_stored(batch_id))
    assert 0 < stored_then < 12

    job = _finished(batch_id, timeout_s=120)
    assert job.status == "completed" and job.attempts >= 2, (job.to_dict(), len(_stored(batch_id)), model.texts())
    assert sorted(_stored(batch_id)) == list(range(12))
    asked = model.texts()
    # Each stopped attempt may lose the row it was waiting for (MAX_PARALLEL=1, two rows ahead).
    assert len(asked) <= 12 + 2 * (job.attempts - 1), asked
    assert job.id not in get_queue("llm").scheduled_job_registry
