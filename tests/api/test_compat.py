"""The original systems' routes, one test each, driven by their request bodies (tests/fixtures/compat/)
against a real gunicorn, a real worker and Redis, with an API key as the only credential."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from backend_app import local_redis
from backend_app.extensions import db
from backend_app.models import Session
from backend_app.services import api_keys
from tests.chat_data import add_analysis, add_document
from tests.factories import make_user
from tests.helpers import start_gunicorn, wait_until
from tests.media import make_clip

pytestmark = pytest.mark.sqlite_only  # the server and the mapping are the point; the SQL is v1's, tested on both
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "compat"


def original(name: str, **values) -> dict:
    """An original request body, with its "$NAME" placeholders filled in."""

    def fill(value):
        if isinstance(value, str) and value.startswith("$"):
            return values[value[1:]]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    return fill(json.loads((FIXTURES / f"{name}.json").read_text()))


@pytest.fixture
def server(app):
    port = local_redis.free_port()
    proc = start_gunicorn(app, port, ["--workers", "1", "--threads", "4", "--worker-class", "gthread"])
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=15)


@pytest.fixture
def user(app):
    return make_user()


@pytest.fixture
def key(user) -> dict[str, str]:
    _, raw = api_keys.create(user, name="original client", scope="write")
    return {"X-API-Key": raw}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    return make_clip(tmp_path_factory.mktemp("compat") / "clip.mp4", seconds=1, cuts=(0.5,)).read_bytes()


def _uploaded(server, key, clip) -> str:
    """Init and PUT the bytes as the original client did; the analysis id."""
    ticket = requests.post(f"{server}/upload/init", json=original("upload_init", FILE_SIZE=len(clip)), headers=key)
    assert ticket.status_code == 200, ticket.text
    ticket = ticket.json()
    put = requests.put(ticket["upload_url"], data=clip, headers=ticket["headers"], timeout=30)
    assert put.status_code in (200, 201), put.text
    return ticket["analysis_id"]


def _status(server, key, analysis_id) -> dict:
    answer = requests.get(f"{server}/upload/status/{analysis_id}", headers=key, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_upload_init_gives_a_signed_url_in_the_default_session(app, server, user, key, clip):
    first = requests.post(f"{server}/upload/init", json=original("upload_init", FILE_SIZE=len(clip)), headers=key)
    assert first.status_code == 200, first.text
    body = first.json()
    assert {"analysis_id", "upload_url", "method", "headers", "expires_in", "session_id"} <= set(body)
    assert body["method"] == "PUT" and "/api/v1/storage/" in body["upload_url"]
    session = db.session.get(Session, body["session_id"])
    assert session.user_id == user.id and session.name == "Default"
    second = requests.post(f"{server}/upload/init", json=original("upload_init", FILE_SIZE=len(clip)), headers=key)
    assert second.json()["session_id"] == body["session_id"]  # one default session, found again
    # The original body without a key is a 401 in the API's error shape; a wrong type a coded 415.
    assert requests.post(f"{server}/upload/init", json=original("upload_init", FILE_SIZE=1)).json()["error"][
        "code"
    ] == ("AUTH_REQUIRED")
    bad = requests.post(
        f"{server}/upload/init",
        json={**original("upload_init", FILE_SIZE=10), "content_type": "application/zip"},
        headers=key,
    )
    assert bad.status_code == 415 and bad.json()["error"]["code"] == "UNSUPPORTED_FORMAT"


def test_upload_complete_checks_the_bytes_and_queues(app, server, key, clip):
    analysis_id = _uploaded(server, key, clip)
    done = requests.post(
        f"{server}/upload/complete", json=original("upload_complete", ANALYSIS_ID=analysis_id), headers=key
    )
    assert done.status_code == 200 and done.json() == {"analysis_id": analysis_id, "status": "queued"}
    unknown = requests.post(
        f"{server}/upload/complete", json=original("upload_complete", ANALYSIS_ID="0" * 32), headers=key
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "ANALYSIS_NOT_FOUND"


def test_upload_status_follows_the_analysis_to_its_end(app, server, key, clip, worker):
    analysis_id = _uploaded(server, key, clip)
    requests.post(f"{server}/upload/complete", json=original("upload_complete", ANALYSIS_ID=analysis_id), headers=key)
    final = wait_until(
        lambda: (s := _status(server, key, analysis_id))["status"] in ("completed", "failed") and s,
        timeout_s=90,
        message="the analysis to finish",
    )
    assert final["status"] == "completed" and final["analysis_id"] == analysis_id and final["progress"] == 100
    assert {"stage", "eta_s", "error_code", "error_message"} <= set(final)
    report = requests.get(f"{server}/api/v1/analyses/{analysis_id}/report", headers=key)
    assert report.status_code == 200 and len(report.json()["shots"]) == 2


def test_analyze_starts_an_uploaded_file_and_changes_nothing_when_repeated(app, server, key, clip, worker):
    analysis_id = _uploaded(server, key, clip)
    assert _status(server, key, analysis_id)["status"] == "pending_upload"
    started = requests.post(f"{server}/analyze", json=original("analyze", ANALYSIS_ID=analysis_id), headers=key)
    assert started.status_code == 200 and started.json() == {"analysis_id": analysis_id, "status": "queued"}
    wait_until(lambda: _status(server, key, analysis_id)["status"] == "completed", timeout_s=90, message="analysis")
    again = requests.post(f"{server}/analyze", json=original("analyze", ANALYSIS_ID=analysis_id), headers=key)
    assert again.json() == {"analysis_id": analysis_id, "status": "completed"}


def _batch_done(server, key, batch_id) -> dict:
    def done():
        body = requests.get(f"{server}/api/v1/batch/{batch_id}", headers=key, timeout=10).json()
        return body if body["status"] in ("completed", "failed") else None

    return wait_until(done, timeout_s=60, message="the batch to finish")


def test_validate_batch_runs_the_original_requirements_list(app, server, key, worker):
    submitted = requests.post(f"{server}/api/v1/validate/batch", json=original("validate_batch"), headers=key)
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["mode"] == "evaluate" and body["total_rows"] == 3 and body["rejected"] == []
    batch = _batch_done(server, key, body["batch_id"])
    assert batch["status"] == "completed"
    rows = {row["id"]: row for row in batch["results"]}
    assert set(rows) == {"REQ-1", "REQ-2", "REQ-3"}
    # The vague one scores lower than the measurable one: the v1 engine ran, not an echo.
    assert rows["REQ-2"]["overall"] < rows["REQ-1"]["overall"]


def test_validate_batch_stream_submits_and_streams_to_done(app, server, key, worker):
    with requests.post(
        f"{server}/api/v1/validate/batch/stream", json=original("validate_batch_stream"), headers=key, stream=True
    ) as answer:
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/event-stream")
        events = []
        name = None
        for line in answer.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
                if name in ("done", "error"):
                    break
    names = [n for n, _ in events]
    assert names[0] == "batch" and names[-1] == "done", names
    assert [data["id"] for n, data in events if n == "row"] == ["S-1", "S-2"]
    assert events[-1][1]["status"] == "completed" and events[0][1]["total_rows"] == 2


def test_vector_search_finds_only_the_callers_shots(app, server, user, key):
    session = Session(user_id=user.id, name="street")
    other = make_user()
    foreign = Session(user_id=other.id, name="theirs")
    db.session.add_all([session, foreign])
    db.session.flush()
    mine = add_analysis(user.id, session.id, "street.mp4")
    theirs = add_analysis(other.id, foreign.id, "their-street.mp4")
    add_document(user.id, session.id, mine.id, 0, "Shot 1", "A red car drives down the street.", start_s=0.0)
    add_document(user.id, session.id, mine.id, 1, "Shot 2", "A kitchen with a kettle.", start_s=2.5)
    add_document(other.id, foreign.id, theirs.id, 0, "Shot 1", "A red car in the street at night.")
    db.session.commit()

    answer = requests.post(f"{server}/api/v1/vector/search", json=original("vector_search"), headers=key)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["analysis_id"], r["shot"]) for r in results] == [(mine.id, 0)]
    assert "red car" in results[0]["snippet"].lower() and results[0]["score"] > 0
    stats = requests.get(f"{server}/api/v1/vector/stats", headers=key).json()
    assert stats["documents"] == 2


def test_the_requirement_routes_that_kept_their_names_take_a_key(app, server, key):
    evaluation = requests.post(f"{server}/api/v1/evaluations", json=original("evaluations"), headers=key)
    assert evaluation.status_code == 200, evaluation.text
    assert set(evaluation.json()["scores"]) == {"clarity", "measurability", "testability"}
    table = (FIXTURES / "batch_evaluate.md").read_text()
    batch = requests.post(
        f"{server}/api/v1/batch/evaluate", data=table, headers={**key, "Content-Type": "text/markdown"}
    )
    assert batch.status_code == 202 and batch.json()["total_rows"] == 2
    assert requests.post(f"{server}/api/v1/evaluations", json=original("evaluations")).status_code == 401


def test_a_read_key_cannot_start_work_and_the_routes_are_documented(app, server, user, clip):
    _, raw = api_keys.create(user, name="reader", scope="read")
    read = {"X-API-Key": raw}
    for path, body in (
        ("/upload/init", original("upload_init", FILE_SIZE=len(clip))),
        ("/analyze", original("analyze", ANALYSIS_ID="0" * 32)),
        ("/api/v1/validate/batch", original("validate_batch")),
        ("/api/v1/vector/search", original("vector_search")),
    ):
        answer = requests.post(f"{server}{path}", json=body, headers=read)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "INSUFFICIENT_SCOPE", path
    spec = requests.get(f"{server}/api/v1/openapi.json").json()
    tagged = {
        (path, method)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if op["tags"] == ["compatibility"]
    }
    assert tagged == {
        ("/upload/init", "post"),
        ("/upload/complete", "post"),
        ("/upload/status/{analysis_id}", "get"),
        ("/analyze", "post"),
        ("/api/v1/validate/batch", "post"),
        ("/api/v1/validate/batch/stream", "post"),
        ("/api/v1/vector/search", "post"),
        ("/api/v1/vector/stats", "get"),
    }
