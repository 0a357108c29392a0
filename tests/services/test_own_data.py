"""Own your data, end to end: after real uploads, chat and a batch, the export holds exactly the
user's data, and erasure leaves nothing of the user anywhere (rows, objects, index, queue).

Issue 9's acceptance. The cheaper row-level checks (both engines) are in test_ownership.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import select, text

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db, redis_store
from backend_app.models import Job
from backend_app.services import ownership
from backend_app.services.chat import search
from backend_app.tenancy import Tenant
from tests.factories import PASSWORD, auth_headers, make_user
from tests.helpers import wait_until
from tests.media import make_clip
from tests.uploading import make_session, upload_video

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(600)]

TABLE = (
    "| id | requirementText | context |\n|---|---|---|\n"
    "| REQ-1 | The pump shall start within 2 seconds of the command. | {} |\n"
    "| REQ-2 | The system should be fast and user friendly etc. | {} |\n"
)


def _finished(client, headers, path: str, done=("completed", "failed", "canceled")) -> dict:
    def poll():
        db.session.rollback()
        body = client.get(path, headers=headers).get_json()
        status = body.get("status") or (body.get("job") or {}).get("status")
        return body if status in done else None

    return wait_until(poll, timeout_s=240, interval_s=0.5, message=f"{path} to finish")


def _populate(client, user, clip) -> dict:
    """A session with an analysed upload, a chat turn and an evaluated batch, through the API."""
    headers = auth_headers(client, user)
    session_id = make_session(client, headers, f"{user.email} session")
    analysis_id = upload_video(client, headers, session_id, clip)["analysis_id"]
    status = _finished(client, headers, f"/api/v1/analyses/{analysis_id}")
    assert status["status"] == "completed", status
    chat = client.post(
        "/api/v1/chat", json={"message": "What happens in the clip?", "session_id": session_id}, headers=headers
    )
    assert chat.status_code == 200, chat.get_json()
    batch = client.post(
        f"/api/v1/batch/evaluate?session_id={session_id}",
        data=TABLE,
        headers={**headers, "Content-Type": "text/markdown"},
    )
    assert batch.status_code == 202, batch.get_json()
    batch_id = batch.get_json()["batch_id"]
    done = _finished(client, headers, f"/api/v1/batch/{batch_id}")
    assert (done.get("status") or done["job"]["status"]) == "completed", done
    return {"headers": headers, "session": session_id, "analysis": analysis_id, "batch": batch_id}


def _rows_mentioning(value: str) -> list[tuple[str, dict]]:
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            mapping = dict(row._mapping)
            if any(value in str(v) for v in mapping.values() if v is not None):
                found.append((table.name, mapping))
    return found


def _index_entries(user_id: str) -> int:
    """Search-index entries in the user's scope (SQLite: the FTS5 table; PostgreSQL indexes rows)."""
    if search.backend() != "sqlite":
        return 0
    token = search.scope_tokens(Tenant(user_id))[0]
    return db.session.execute(
        text("SELECT count(*) FROM shot_fts WHERE shot_fts MATCH :q"), {"q": f'scope : "{token}"'}
    ).scalar()


def _objects(user_id: str) -> dict[str, str]:
    storage = get_storage()
    return {
        key: hashlib.sha256(b"".join(storage.iter_chunks(key))).hexdigest()
        for key in storage.list_keys(f"users/{user_id}/")
    }


def test_export_then_erase_after_uploads_chat_and_batch(app, client, worker, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=2, size=(160, 90), cuts=(1.0,))
    alice, bob = make_user(), make_user()
    alice_id, bob_id = alice.id, bob.id
    mine, theirs = _populate(client, alice, clip), _populate(client, bob, clip)
    my_objects, their_objects = _objects(alice_id), _objects(bob_id)
    assert any("/keyframes/" in k for k in my_objects) and any("contact" in k for k in my_objects), sorted(my_objects)
    their_index = _index_entries(bob_id)
    assert _index_entries(alice_id) > 0 and their_index > 0

    # --- export: every object and row the user owns, nothing of anybody else ---------------------
    response = client.get("/api/v1/me/export", headers=mine["headers"])
    assert response.status_code == 200 and response.is_streamed
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = set(archive.namelist())
    exported = {
        n[len("files/") :]: hashlib.sha256(archive.read(n)).hexdigest() for n in names if n.startswith("files/")
    }
    # every object, byte for byte, and no other; the uploaded video under its own name
    assert exported == {
        (k[: -len("source")] + "clip.mp4" if k.endswith("/source") else k): v for k, v in my_objects.items()
    }
    assert any(n.endswith("/clip.mp4") for n in exported)
    for table, condition in ownership.owned_tables(alice_id):
        rows = db.session.execute(select(text("count(*)")).select_from(table).where(condition)).scalar()
        lines = archive.read(f"tables/{table.name}.jsonl").decode().splitlines()
        assert len(lines) == rows, table.name
    for expected in (
        "analyses",
        "chat_messages",
        "requirement_batches",
        "requirement_results",
        "shot_documents",
        "jobs",
        "sessions",
    ):
        assert archive.read(f"tables/{expected}.jsonl").strip(), f"nothing exported from {expected}"
    everything = b"".join(archive.read(n) for n in names)
    for foreign in (bob_id, theirs["session"], theirs["analysis"], theirs["batch"]):
        assert foreign.encode() not in everything
    assert b"password_hash" not in everything
    analyses = [json.loads(line) for line in archive.read("tables/analyses.jsonl").decode().splitlines()]
    assert [a["id"] for a in analyses] == [mine["analysis"]]

    # --- erase: no row, object, index entry or queued job of the user remains --------------------
    job_ids = list(db.session.execute(select(Job.id).where(Job.user_id == alice_id)).scalars())
    wrong = client.delete("/api/v1/me", json={"password": "not the password"}, headers=mine["headers"])
    assert wrong.status_code == 401 and _objects(alice_id) == my_objects
    erased = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=mine["headers"])
    assert erased.status_code == 200, erased.get_json()
    removed = erased.get_json()["removed"]
    assert removed["storage_objects"] == len(my_objects) and removed["rows.users"] == 1
    db.session.rollback()
    for value in (alice_id, mine["session"], mine["analysis"], mine["batch"]):
        assert _rows_mentioning(value) == [], value
    assert _objects(alice_id) == {}
    assert not list(get_storage().list_keys(f"users/{alice_id}/"))
    assert _index_entries(alice_id) == 0
    from rq.job import Job as RQJob

    assert not [j for j in job_ids if RQJob.exists(j, connection=redis_store.conn)]
    leftovers = [
        key
        for key in redis_store.conn.scan_iter(count=1000)
        if any(v.encode() in key for v in (alice_id, *job_ids, mine["analysis"], mine["batch"]))
    ]
    assert leftovers == []
    assert client.get("/api/v1/auth/me", headers=mine["headers"]).status_code == 401

    # --- the other user is untouched --------------------------------------------------------------
    assert _objects(bob_id) == their_objects
    assert _index_entries(bob_id) == their_index
    assert client.get(f"/api/v1/analyses/{theirs['analysis']}/report", headers=theirs["headers"]).status_code == 200
    assert client.get(f"/api/v1/batch/{theirs['batch']}", headers=theirs["headers"]).status_code == 200
    assert client.get(
        "/api/v1/chat/history", query_string={"session_id": theirs["session"]}, headers=theirs["headers"]
    ).get_json()
