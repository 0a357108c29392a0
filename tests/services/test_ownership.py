"""Export contains exactly what a user owns; erasure leaves nothing of them anywhere."""

import io
import json
import zipfile
from types import SimpleNamespace

from sqlalchemy import select, text

from backend_app.extensions import db
from backend_app.models import ShotDocument, UsageRecord
from backend_app.queue.enqueue import submit
from backend_app.services import ownership, sessions
from backend_app.services.chat import passage_search, passages
from backend_app.tenancy import Tenant
from tests.factories import PASSWORD, auth_headers, make_user


def _populate(user, label: str) -> dict:
    tenant = Tenant(user.id)
    session = sessions.create(tenant, f"{label} session")
    db.session.add(
        ShotDocument(
            user_id=user.id,
            session_id=session.id,
            analysis_id=f"{label:0>32}"[:32],
            shot_index=0,
            start_s=0.0,
            end_s=1.5,
            title=f"{label} clip",
            text=f"{label} red car",
        )
    )
    db.session.add(UsageRecord(user_id=user.id, purpose="chat", model="m", prompt_tokens=3, completion_tokens=4))
    db.session.flush()
    # what was said and shown, and a document's page: the user's data like their shots
    analysis = SimpleNamespace(id=f"{label:0>32}"[:32], user_id=user.id, session_id=session.id, filename="a.mp4")
    passages.index_analysis_extras(
        analysis,
        {
            "transcript": [{"start_s": 1.0, "end_s": 2.0, "text": f"{label} spoken lighthouse"}],
            "texts": [{"start_s": 0.0, "end_s": 1.0, "text": f"{label} on screen"}],
        },
    )
    passages.index_document_pages(user.id, session.id, f"{label:d>32}"[:32], "r.pdf", [(1, f"{label} page tides", [])])
    db.session.commit()
    job = submit("selftest", user_id=user.id, session_id=session.id, payload={"echo": label})
    return {"session": session.id, "job": job.id}


def _all_rows_mentioning(value: str) -> list[tuple[str, dict]]:
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            mapping = dict(row._mapping)
            if any(value in str(v) for v in mapping.values() if v is not None):
                found.append((table.name, mapping))
    return found


def test_export_zip_holds_own_rows_only(client):
    alice, bob = make_user(), make_user()
    mine, theirs = _populate(alice, "alice"), _populate(bob, "bob")
    response = client.get("/api/v1/me/export", headers=auth_headers(client, alice))
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = set(archive.namelist())
    assert {
        "manifest.json",
        "tables/users.jsonl",
        "tables/sessions.jsonl",
        "tables/jobs.jsonl",
        "tables/shot_documents.jsonl",
        "tables/usage_records.jsonl",
        "tables/passages.jsonl",
    } <= names
    blob = b"".join(archive.read(n) for n in names).decode()
    assert bob.id not in blob and theirs["session"] not in blob and "bob red car" not in blob
    assert mine["session"] in blob and mine["job"] in blob and "alice red car" in blob
    exported = [json.loads(line) for line in archive.read("tables/passages.jsonl").decode().splitlines()]
    assert sorted(p["text"] for p in exported) == ["alice on screen", "alice page tides", "alice spoken lighthouse"]
    assert "bob spoken" not in blob and "bob page" not in blob
    assert "password_hash" not in blob and "scrypt" not in blob
    users = [json.loads(line) for line in archive.read("tables/users.jsonl").decode().splitlines()]
    assert [u["id"] for u in users] == [alice.id]


def test_delete_me_needs_password_and_removes_everything(client, app):
    alice, bob = make_user(), make_user()
    alice_id, bob_id = alice.id, bob.id
    _populate(alice, "alice")
    theirs = _populate(bob, "bob")
    h = auth_headers(client, alice)
    r = client.delete("/api/v1/me", json={"password": "wrong password"}, headers=h)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "WRONG_PASSWORD"
    r = client.delete("/api/v1/me", json={"password": PASSWORD}, headers=h)
    assert r.status_code == 200
    removed = r.get_json()["removed"]
    assert removed["rows.users"] == 1 and removed["rows.sessions"] == 1 and removed["rows.shot_documents"] == 1
    assert removed["queued_jobs"] == 1 and removed["rows.passages"] == 3
    db.session.expire_all()
    assert _all_rows_mentioning(alice_id) == []
    assert _all_rows_mentioning("alice red car") == [] and _all_rows_mentioning("alice spoken") == []
    # the search index holds Bob's three passages only (SQLite: the FTS5 entries went with the rows)
    assert passage_search.indexed_count(None) == 3 == passage_search.indexed_count(Tenant(bob_id))
    assert len(passage_search.search(Tenant(bob_id), "lighthouse screen tides")) == 3
    assert _all_rows_mentioning(bob_id) and _all_rows_mentioning(theirs["session"])
    from rq.job import Job as RQJob

    from backend_app.extensions import redis_store

    assert RQJob.exists(theirs["job"], connection=redis_store.conn)
    # the token of a deleted account no longer works
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_admin_can_erase_a_user_but_not_themselves(client):
    admin, victim = make_user(role="admin"), make_user()
    victim_id = victim.id
    _populate(victim, "victim")
    h = auth_headers(client, admin)
    r = client.delete(f"/api/v1/admin/users/{admin.id}", headers=h)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "CANNOT_DELETE_SELF"
    r = client.delete(f"/api/v1/admin/users/{victim_id}", headers=h)
    assert r.status_code == 200 and r.get_json()["removed"]["rows.users"] == 1
    assert client.delete(f"/api/v1/admin/users/{victim_id}", headers=h).status_code == 404
    assert (
        client.delete(f"/api/v1/admin/users/{admin.id}", headers=auth_headers(client, make_user())).status_code == 403
    )


def test_owned_tables_are_derived_from_the_schema(app):
    names = [t.name for t, _ in ownership.owned_tables("x")]
    assert {"users", "sessions", "jobs", "shot_documents", "passages", "usage_records"} <= set(names)
    assert names.index("users") < names.index("sessions") < names.index("jobs")
    assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_stream_zip_is_a_valid_archive_of_large_entries():
    payload = [b"x" * (1 << 20)] * 5
    data = b"".join(ownership.stream_zip([("big.bin", iter(payload)), ("small.txt", iter([b"hi"]))]))
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read("big.bin") == b"x" * (5 << 20) and archive.read("small.txt") == b"hi"
