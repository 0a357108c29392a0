"""Requirement batches end to end: POST a table, a real RQ worker runs it, SSE, exports, privacy."""

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import JSON, String, Text, select

from backend_app.extensions import db, redis_store
from backend_app.models import Job, RequirementBatch, RequirementResult, UsageRecord
from tests.factories import auth_headers, make_user
from tests.helpers import wait_until

SENTENCES = [
    "The turbine controller shall be quick and intuitive where practical.",
    "Das Kühlmodul muss innerhalb von 3 Sekunden auf Übertemperatur reagieren.",
    "The harbour crane shall hoist containers and shall report the load weight.",
    "Der Fahrkartenautomat soll Münzen, Scheine usw. akzeptieren.",
    "The greenhouse sensor shall never report humidity above 100%.",
    "Die Wetterstation muss Messwerte vom Datenlogger übertragen lassen.",
]


def _table(sentences=SENTENCES, extra_rows=()):
    rows = [f'| REQ-{i} | {text} | {{"component": "c{i}"}} |' for i, text in enumerate(sentences, 1)]
    return "\n".join(["| id | requirementText | context |", "|---|---|---|", *rows, *extra_rows]) + "\n"


def _events(raw: str) -> list[dict]:
    out = []
    for block in raw.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            out.append({"event": fields["event"], "id": fields.get("id"), "data": json.loads(fields["data"])})
    return out


def _stream(client, batch_id, headers):
    res = client.get(f"/api/v1/batch/{batch_id}/stream", headers=headers, buffered=False)
    assert res.status_code == 200 and res.mimetype == "text/event-stream"
    return _events("".join(c.decode() if isinstance(c, bytes) else c for c in res.response))


def _scan_for_text(sentences):
    """Every text/JSON column of every table, and (SQLite) the raw database files."""
    needles = {s[i : i + 16] for s in sentences for i in range(0, len(s) - 16, 4)}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        for row in db.session.execute(select(*columns)).all():
            blob = " ".join(
                json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v for v in row if v is not None
            )
            found = [n for n in needles if n in blob]
            assert not found, f"requirement text in table {table.name}: {found[:3]}"
    url = str(db.engine.url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert not [n for n in needles if n.encode() in raw], "requirement text in the SQLite files"


def _wait_done(batch_id, timeout_s=60):
    def done():
        db.session.rollback()
        batch = db.session.get(RequirementBatch, batch_id, populate_existing=True)
        return batch.job.status in ("completed", "failed") and batch

    return wait_until(done, timeout_s=timeout_s, message="batch to finish")


def test_batch_end_to_end_stream_exports_privacy_and_tenancy(client, app, worker):
    owner, other = make_user(), make_user()
    headers = {**auth_headers(client, owner), "Content-Type": "text/markdown"}
    extra = ["| BAD-1 | only two cells |", "| REQ-1 | Duplicate id shall fail. | {} |"]
    res = client.post("/api/v1/batch/evaluate", data=_table(extra_rows=extra), headers=headers)
    assert res.status_code == 202, res.get_json()
    body = res.get_json()
    batch_id = body["batch_id"]
    assert body["total_rows"] == len(SENTENCES)
    assert [(r["line"], r["code"]) for r in body["rejected"]] == [(9, "ROW_COLUMN_COUNT"), (10, "ROW_ID_DUPLICATE")]
    job = db.session.get(Job, db.session.get(RequirementBatch, batch_id).job_id)
    assert job.payload == {"batch_id": batch_id}  # the job carries ids only

    events = _stream(client, batch_id, headers)  # follows the live batch until done
    rows = [e["data"] for e in events if e["event"] == "row"]
    assert events[-1]["event"] == "done" and events[-1]["data"]["status"] == "completed"
    assert [r["id"] for r in rows] == [f"REQ-{i}" for i in range(1, len(SENTENCES) + 1)]
    assert [e["id"] for e in events if e["event"] == "row"] == [str(i) for i in range(len(SENTENCES))]
    assert any(e["event"] == "progress" for e in events)

    status = client.get(f"/api/v1/batch/{batch_id}", headers=headers).get_json()
    assert status["done_rows"] == len(SENTENCES) and status["rejected_rows"] == 2 and status["progress"] == 100
    assert status["results"] == rows
    by_id = {r["id"]: r for r in rows}
    assert {"R7", "R8"} <= {f["rule_id"] for f in by_id["REQ-1"]["findings"]}
    assert by_id["REQ-2"]["findings"] == [] and by_id["REQ-2"]["overall"] == 100
    assert "R18" in {f["rule_id"] for f in by_id["REQ-3"]["findings"]}
    assert all("words" not in f for r in rows for f in r["findings"])

    # Late reader: everything again, or only what follows Last-Event-ID.
    late = _stream(client, batch_id, headers)
    assert [e["data"] for e in late if e["event"] == "row"] == rows
    resumed = _stream(client, batch_id, {**headers, "Last-Event-ID": "3"})
    assert [e["data"]["id"] for e in resumed if e["event"] == "row"] == ["REQ-5", "REQ-6"]
    for odd in ("99999999999999999999999", "²", "-"):  # past the database's integers; a digit int() refuses
        again = _stream(client, batch_id, {**headers, "Last-Event-ID": odd})
        assert [e["data"] for e in again if e["event"] == "row"] == rows

    exported = client.get(f"/api/v1/batch/{batch_id}/export?format=csv", headers=headers)
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [t["id"] for t in table] == [r["id"] for r in rows] + ["BAD-1", "REQ-1"]
    assert [int(t["overall"]) for t in table[: len(rows)]] == [r["overall"] for r in rows]
    assert table[-1]["status"] == "rejected" and table[-1]["error_code"] == "ROW_ID_DUPLICATE"
    as_json = client.get(f"/api/v1/batch/{batch_id}/export?format=json", headers=headers).get_json()
    assert as_json["results"] == rows and len(as_json["rejected"]) == 2
    md = client.get(f"/api/v1/batch/{batch_id}/export?format=md", headers=headers).get_data(as_text=True)
    assert md.splitlines()[0].startswith("| id | line | status | overall | clarity")
    assert len(md.strip().splitlines()) == 2 + len(rows) + 2
    assert client.get(f"/api/v1/batch/{batch_id}/export?format=xls", headers=headers).status_code == 422

    db.session.rollback()
    _scan_for_text(SENTENCES)
    assert redis_store.conn.exists(f"framewise:reqbatch:{batch_id}:input") == 0  # input deleted when done
    assert db.session.execute(select(RequirementResult.text_sha256)).scalars().all()

    stranger = auth_headers(client, other)
    for suffix in ("", "/stream", "/export?format=csv"):
        res = client.get(f"/api/v1/batch/{batch_id}{suffix}", headers=stranger)
        assert res.status_code == 404 and res.get_json()["error"]["code"] == "BATCH_NOT_FOUND"


@pytest.mark.sqlite_only
def test_rewrite_batch_from_json_and_file_and_default_path(client, app, worker, tmp_path):
    headers = auth_headers(client, make_user())
    res = client.post(
        "/api/v1/batch/rewrite",
        headers=headers,
        json={"markdown": _table(SENTENCES[2:3]), "criteriaKeys": ["singularity", "clarity"]},
    )
    assert res.status_code == 202
    batch = _wait_done(res.get_json()["batch_id"])
    assert batch.job.status == "completed" and batch.criteria_keys == ["singularity", "clarity"]
    export = client.get(f"/api/v1/batch/{batch.id}/export?format=json", headers=headers).get_json()
    assert export["results"][0]["rewrite"] == (
        "The harbour crane shall hoist containers. The harbour crane shall report the load weight."
    )
    assert set(export["results"][0]["scores"]) == {"singularity", "clarity"}
    _scan_for_text(SENTENCES[2:3] + [export["results"][0]["rewrite"]])

    upload = {"file": (io.BytesIO(_table(SENTENCES[:2]).encode()), "reqs.md")}
    res = client.post("/api/v1/batch/suggest", headers=headers, data=upload, content_type="multipart/form-data")
    assert res.status_code == 202 and res.get_json()["total_rows"] == 2

    default = tmp_path / "requirements.md"
    default.write_text(_table(SENTENCES[3:4]), encoding="utf-8")
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(requirements_md_path=str(default))
    res = client.post("/api/v1/batch/evaluate", headers=headers)
    assert (
        res.status_code == 202 and db.session.get(RequirementBatch, res.get_json()["batch_id"]).source == "default_path"
    )


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "body,code",
    [
        ("no table here", "TABLE_NOT_FOUND"),
        ("| key | text |\n|---|---|\n| 1 | x |", "TABLE_HEADER_INVALID"),
        ("| id | requirementText |\n| 1 | The pump shall stop. |", "TABLE_SEPARATOR_MISSING"),
        (
            "| id | requirementText | context |\n|---|---|---|\n| 1 | The pump shall stop. | {oops |",
            "BATCH_NO_VALID_ROWS",
        ),
    ],
)
def test_bad_tables_are_coded_422_with_the_line(client, body, code):
    res = client.post(
        "/api/v1/batch/evaluate",
        data=body,
        headers={**auth_headers(client, make_user()), "Content-Type": "text/markdown"},
    )
    error = res.get_json()["error"]
    assert res.status_code == 422 and error["code"] == code
    if code == "BATCH_NO_VALID_ROWS":
        assert error["details"]["rejected"][0]["line"] == 3
    elif code != "TABLE_NOT_FOUND":
        assert error["details"]["line"] in (1, 2)


@pytest.mark.sqlite_only
@pytest.mark.settings(max_batch_rows=3)
def test_rows_over_max_batch_rows_are_rejected_and_the_rest_run(client):
    res = client.post(
        "/api/v1/batch/evaluate",
        data=_table(),
        headers={**auth_headers(client, make_user()), "Content-Type": "text/markdown"},
    )
    body = res.get_json()
    assert res.status_code == 202 and body["total_rows"] == 3
    assert [r["code"] for r in body["rejected"]] == ["ROW_LIMIT_EXCEEDED"] * 3


@pytest.mark.sqlite_only
def test_no_input_runs_the_shipped_sample_table(client):
    """REQUIREMENTS_MD_PATH defaults to ./docs/requirements.md, as in the original system."""
    res = client.post("/api/v1/batch/evaluate", headers=auth_headers(client, make_user()))
    body = res.get_json()
    assert res.status_code == 202 and body["total_rows"] == 8 and body["rejected"] == []
    assert db.session.get(RequirementBatch, body["batch_id"]).source == "default_path"


@pytest.mark.sqlite_only
def test_no_input_and_no_default_file(client, app, tmp_path):
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(requirements_md_path=str(tmp_path / "missing.md"))
    res = client.post("/api/v1/batch/evaluate", headers=auth_headers(client, make_user()))
    assert res.status_code == 422 and res.get_json()["error"]["code"] == "BATCH_INPUT_MISSING"


@pytest.mark.sqlite_only
def test_another_users_session_is_not_found(client):
    from backend_app.services import sessions
    from backend_app.tenancy import Tenant

    theirs = sessions.create(Tenant(make_user().id), "theirs")
    res = client.post(
        f"/api/v1/batch/evaluate?session_id={theirs.id}",
        data=_table(),
        headers={**auth_headers(client, make_user()), "Content-Type": "text/markdown"},
    )
    assert res.status_code == 404


@pytest.mark.sqlite_only
def test_input_gone_from_redis_fails_the_job_with_a_clear_code(client, app, start_worker):
    headers = {**auth_headers(client, make_user()), "Content-Type": "text/markdown"}
    batch_id = client.post("/api/v1/batch/evaluate", data=_table(), headers=headers).get_json()["batch_id"]
    redis_store.conn.delete(f"framewise:reqbatch:{batch_id}:input")  # as if Redis had been flushed
    start_worker(1)
    batch = _wait_done(batch_id)
    assert batch.job.status == "failed" and batch.job.error_code == "BATCH_INPUT_MISSING"
    events = _stream(client, batch_id, headers)
    assert events[-1]["event"] == "done" and events[-1]["data"]["error_code"] == "BATCH_INPUT_MISSING"


@pytest.mark.sqlite_only
def test_v2_batch_runs_llm_calls_in_parallel_and_falls_back_per_row(client, openai_app, fake_openai, start_worker):
    import threading
    import time

    cond, in_flight, peak, seen = threading.Condition(), [0], [0], [0]

    def responder(req):
        # Each call waits (up to 5 s) for a second one to arrive: a worker that made its calls one
        # at a time would leave peak at 1; a slow machine only makes the wait longer.
        with cond:
            in_flight[0] += 1
            seen[0] += 1
            peak[0] = max(peak[0], in_flight[0])
            cond.notify_all()
            cond.wait_for(lambda: peak[0] >= 2 or seen[0] >= 7, timeout=5)
        time.sleep(0.1)
        with cond:
            in_flight[0] -= 1
        text = json.loads(req["messages"][1]["content"])["requirementText"]
        if "Münzen" in text:
            return "not json"
        return json.dumps(
            {"findings": [{"rule_id": "R7", "severity": "high", "span": [0, 3], "message": "m", "suggestion": "s"}]}
        )

    fake_openai.responder = responder
    openai_app.config["SETTINGS"] = openai_app.config["SETTINGS"].replace(max_parallel=3, batch_size=4)
    start_worker(1)
    headers = {**auth_headers(client, make_user("admin")), "X-Force-Variant": "v2", "Content-Type": "text/markdown"}
    duplicate = f'| REQ-7 | {SENTENCES[0]} | {{"component": "c1"}} |'  # same text and context as REQ-1
    res = client.post("/api/v1/batch/evaluate", data=_table(extra_rows=[duplicate]), headers=headers)
    batch = _wait_done(res.get_json()["batch_id"])
    assert batch.variant == "v2" and batch.job.status == "completed"
    results = {r.row_key: r for r in db.session.execute(select(RequirementResult)).scalars()}
    assert results["REQ-4"].engine == "rules-v1" and results["REQ-4"].fallback_code == "AI_INVALID_OUTPUT"
    assert results["REQ-1"].engine.startswith("llm:") and results["REQ-1"].findings[0]["rule_id"] == "R7"
    assert batch.v2_fallbacks == 1 and results["REQ-7"].findings == results["REQ-1"].findings
    # 6 distinct texts: 5 answered first time, 1 retried once; the duplicate 7th row is computed once.
    assert len(fake_openai.requests) == 7
    assert UsageRecord.query.filter_by(purpose="requirements").count() == 7
    assert 2 <= peak[0] <= 3  # calls overlapped, never more than MAX_PARALLEL at a time
    from backend_app.services.flags import guard

    assert guard.window_counts() == (1 + 7, 1)  # the POST and every v2 row are samples; the fallback an error
    _scan_for_text(SENTENCES)


@pytest.mark.sqlite_only
def test_a_rerun_keeps_rows_an_earlier_attempt_stored(client, app, start_worker):
    headers = {**auth_headers(client, make_user()), "Content-Type": "text/markdown"}
    batch_id = client.post("/api/v1/batch/evaluate", data=_table(), headers=headers).get_json()["batch_id"]
    batch = db.session.get(RequirementBatch, batch_id)
    db.session.add(
        RequirementResult(
            batch_id=batch_id,
            user_id=batch.user_id,
            row_index=0,
            row_key="REQ-1",
            line=3,
            text_sha256="0" * 64,
            status="ok",
            engine="earlier-attempt",
            overall=50,
        )
    )
    db.session.commit()
    start_worker(1)
    batch = _wait_done(batch_id)
    rows = (
        db.session.execute(
            select(RequirementResult)
            .where(RequirementResult.batch_id == batch_id)
            .order_by(RequirementResult.row_index)
        )
        .scalars()
        .all()
    )
    assert [r.row_index for r in rows] == list(range(len(SENTENCES)))
    assert rows[0].engine == "earlier-attempt" and {r.engine for r in rows[1:]} == {"rules-v1"}
    assert batch.done_rows == len(SENTENCES) and batch.summary["rows"] == len(SENTENCES)
    assert batch.summary["mean_overall"] == round(sum(r.overall for r in rows) / len(rows), 1)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("markdown", ["", "  ", None, {}, 7])
def test_a_sent_markdown_that_is_no_table_is_refused_not_replaced_by_the_default(client, markdown):
    res = client.post("/api/v1/batch/evaluate", headers=auth_headers(client, make_user()), json={"markdown": markdown})
    assert res.status_code == 422 and res.get_json()["error"]["details"]["fields"] == {
        "markdown": "must be a non-empty string"
    }
