"""Uploads: declared limits at init, real bytes at complete, one-shot multipart; local and S3."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from rq import Queue
from sqlalchemy import func, select

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db, redis_store
from backend_app.models import Analysis, Job
from tests.factories import auth_headers, make_user
from tests.media import make_clip
from tests.uploading import init_upload, make_session, send, upload_video

TEXT = b"This is a plain text file that someone renamed to clip.mp4.\n" * 20


@pytest.fixture(params=["local", "s3"])
def backend(request, app):
    if request.param == "s3":
        request.getfixturevalue("s3_app")
    return request.param


@pytest.fixture
def owner(app, client):
    user = make_user()
    headers = auth_headers(client, user)
    return {"user": user, "headers": headers, "session_id": make_session(client, headers)}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    path = make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=1, cuts=(0.5,))
    return path.read_bytes()


def _complete(client, owner, analysis_id):
    return client.post("/api/v1/uploads/complete", json={"analysis_id": analysis_id}, headers=owner["headers"])


def _error(response) -> str:
    return response.get_json()["error"]["code"]


def _video_queue_ids(app) -> list[str]:
    return Queue("video", connection=redis_store.conn).job_ids


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.sqlite_only
def test_direct_upload_is_checked_and_queued_once(app, client, owner, backend, clip):
    ticket = init_upload(client, owner["headers"], owner["session_id"], size=len(clip))
    assert ticket.status_code == 201
    ticket = ticket.get_json()
    assert set(ticket) == {"analysis_id", "upload_url", "method", "headers", "expires_in"}
    assert ticket["method"] == "PUT" and ticket["expires_in"] == app.config["SETTINGS"].signed_url_ttl_s
    analysis = db.session.get(Analysis, ticket["analysis_id"])
    assert analysis.storage_key == f"users/{owner['user'].id}/analyses/{analysis.id}/source"
    assert "clip.mp4" not in analysis.storage_key  # keys come from ids, never the filename
    assert analysis.job.status == "pending_upload" and analysis.job.kind == "video_analysis"
    assert analysis.job.payload == {"analysis_id": analysis.id}
    assert _video_queue_ids(app) == []  # nothing is queued before the bytes are there

    status, _, _ = send(client, "PUT", ticket["upload_url"], data=clip, headers=ticket["headers"])
    assert status in (200, 201)
    first = _complete(client, owner, analysis.id)
    assert first.status_code == 202
    assert first.get_json() == {"analysis_id": analysis.id, "status": "queued"}
    second = _complete(client, owner, analysis.id)  # idempotent: no second enqueue
    assert second.status_code == 202 and second.get_json()["status"] == "queued"
    assert _video_queue_ids(app) == [analysis.job_id]
    db.session.expire_all()
    assert db.session.get(Analysis, analysis.id).file_size == len(clip)

    status = client.get(f"/api/v1/uploads/status/{analysis.id}", headers=owner["headers"]).get_json()
    assert status["status"] == "queued" and status["file_size"] == len(clip)
    assert {"stage", "progress", "eta_s", "error_code", "error_message"} <= set(status)


def test_upload_flow_on_both_databases(client, owner, clip):
    assert upload_video(client, owner["headers"], owner["session_id"], clip)["status"] == "queued"


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "body, code, status",
    [
        ({"file_size": 0}, "EMPTY_FILE", 422),
        ({"file_size": 10**12}, "VIDEO_TOO_LARGE", 413),
        ({"content_type": "application/zip"}, "UNSUPPORTED_FORMAT", 415),  # text/plain is a document now
        ({"content_type": "application/octet-stream", "filename": "notes.xyz"}, "UNSUPPORTED_FORMAT", 415),
        ({"file_size": -5}, "VALIDATION_ERROR", 422),
        ({"file_size": "12"}, "VALIDATION_ERROR", 422),
        ({"filename": None}, "VALIDATION_ERROR", 422),
        ({"session_id": "0" * 32}, "SESSION_NOT_FOUND", 404),
    ],
)
def test_init_refuses_bad_declarations(client, owner, body, code, status):
    payload = {
        "filename": "clip.mp4",
        "content_type": "video/mp4",
        "file_size": 1000,
        "session_id": owner["session_id"],
        **body,
    }
    response = client.post("/api/v1/uploads/init", json=payload, headers=owner["headers"])
    assert response.status_code == status, response.get_json()
    assert _error(response) == code
    assert _count(Analysis) == 0 and _count(Job) == 0


@pytest.mark.sqlite_only
def test_generic_type_is_guessed_from_the_name_and_path_parts_are_dropped(client, owner):
    response = init_upload(
        client,
        owner["headers"],
        owner["session_id"],
        size=100,
        filename="../../etc/holiday.mkv",
        content_type="application/octet-stream",
    )
    assert response.status_code == 201
    analysis = db.session.get(Analysis, response.get_json()["analysis_id"])
    assert analysis.content_type == "video/x-matroska" and analysis.filename == "holiday.mkv"


def test_another_users_session_is_not_found(client, owner):
    stranger = auth_headers(client, make_user())
    response = init_upload(client, stranger, owner["session_id"], size=100)
    assert response.status_code == 404 and _error(response) == "SESSION_NOT_FOUND"


def test_another_users_analysis_cannot_be_completed_or_seen(client, owner):
    analysis_id = init_upload(client, owner["headers"], owner["session_id"], size=100).get_json()["analysis_id"]
    stranger = {"headers": auth_headers(client, make_user())}
    response = _complete(client, stranger, analysis_id)
    assert response.status_code == 404 and _error(response) == "ANALYSIS_NOT_FOUND"
    response = client.get(f"/api/v1/uploads/status/{analysis_id}", headers=stranger["headers"])
    assert response.status_code == 404


@pytest.mark.sqlite_only
def test_complete_before_upload_is_incomplete_and_recoverable(app, client, owner, backend, clip):
    ticket = init_upload(client, owner["headers"], owner["session_id"], size=len(clip)).get_json()
    response = _complete(client, owner, ticket["analysis_id"])
    assert response.status_code == 409 and _error(response) == "UPLOAD_INCOMPLETE"
    assert db.session.get(Analysis, ticket["analysis_id"]).job.status == "pending_upload"
    send(client, "PUT", ticket["upload_url"], data=clip, headers=ticket["headers"])
    assert _complete(client, owner, ticket["analysis_id"]).status_code == 202


@pytest.mark.sqlite_only
def test_truncated_upload_is_incomplete(app, client, owner, backend, clip):
    ticket = init_upload(client, owner["headers"], owner["session_id"], size=len(clip)).get_json()
    status, _, _ = send(client, "PUT", ticket["upload_url"], data=clip[: len(clip) // 2], headers=ticket["headers"])
    if backend == "local":
        assert status == 400  # the app's own link refuses a body shorter than declared
    response = _complete(client, owner, ticket["analysis_id"])
    assert response.status_code == 409 and _error(response) == "UPLOAD_INCOMPLETE"
    assert response.get_json()["error"]["details"]["declared"] == len(clip)
    assert _video_queue_ids(app) == []


def _stored_then_completed(client, owner, data: bytes, declared: int):
    """Put ``data`` where the upload should be (as a misbehaving client would), then complete."""
    ticket = init_upload(client, owner["headers"], owner["session_id"], size=declared).get_json()
    analysis = db.session.get(Analysis, ticket["analysis_id"])
    get_storage().put_bytes(analysis.storage_key, data)
    return analysis, _complete(client, owner, analysis.id)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "data, declared, code, status",
    [
        (TEXT, len(TEXT), "UNSUPPORTED_FORMAT", 415),
        (b"", 1000, "EMPTY_FILE", 422),
        (b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, 50, "UPLOAD_SIZE_MISMATCH", 422),
    ],
)
def test_bad_stored_files_fail_the_job_with_their_code(app, client, owner, backend, data, declared, code, status):
    analysis, response = _stored_then_completed(client, owner, data, declared)
    assert response.status_code == status and _error(response) == code
    db.session.expire_all()
    job = db.session.get(Analysis, analysis.id).job
    assert job.status == "failed" and job.error_code == code  # never left waiting
    assert get_storage().size(analysis.storage_key) is None  # the unusable object is gone
    again = _complete(client, owner, analysis.id)
    assert again.status_code == status and _error(again) == code
    shown = client.get(f"/api/v1/uploads/status/{analysis.id}", headers=owner["headers"]).get_json()
    assert shown["status"] == "failed" and shown["error_code"] == code
    assert _video_queue_ids(app) == []


@pytest.mark.sqlite_only
def test_tampered_upload_link_is_refused(client, owner, clip):
    ticket = init_upload(client, owner["headers"], owner["session_id"], size=len(clip)).get_json()
    path = urlsplit(ticket["upload_url"]).path
    forged = path[:-4] + ("abcd" if not path.endswith("abcd") else "dcba")
    response = client.put(forged, data=clip, headers=ticket["headers"])
    assert response.status_code == 403 and _error(response) == "SIGNATURE_INVALID"


@pytest.mark.sqlite_only
def test_an_upload_link_writes_only_while_its_analysis_waits_for_the_bytes(app, client, owner, clip):
    """Used again after complete it would replace checked bytes; after a delete it would leave
    an object nothing refers to (and nothing purges)."""
    ticket = init_upload(client, owner["headers"], owner["session_id"], size=len(clip)).get_json()
    assert send(client, "PUT", ticket["upload_url"], data=clip, headers=ticket["headers"])[0] == 201
    assert send(client, "PUT", ticket["upload_url"], data=clip, headers=ticket["headers"])[0] == 201  # still open
    assert _complete(client, owner, ticket["analysis_id"]).status_code == 202
    junk = b"X" * len(clip)
    status, body, _ = send(client, "PUT", ticket["upload_url"], data=junk, headers=ticket["headers"])
    assert status == 409 and b"UPLOAD_CLOSED" in body
    key = db.session.get(Analysis, ticket["analysis_id"]).storage_key
    assert get_storage().read_head(key, len(clip)) == clip

    other = init_upload(client, owner["headers"], owner["session_id"], size=len(clip)).get_json()
    other_key = db.session.get(Analysis, other["analysis_id"]).storage_key
    assert client.delete(f"/api/v1/analyses/{other['analysis_id']}", headers=owner["headers"]).status_code == 204
    status, _, _ = send(client, "PUT", other["upload_url"], data=clip, headers=other["headers"])
    assert status == 409 and get_storage().size(other_key) is None


# --- one-shot multipart -------------------------------------------------------------------


def _multipart(client, owner, data: bytes, filename="clip.mp4", content_type="video/mp4", session_id=None):
    form = {"session_id": session_id or owner["session_id"], "file": (io.BytesIO(data), filename, content_type)}
    return client.post("/api/v1/uploads", data=form, headers=owner["headers"], content_type="multipart/form-data")


@pytest.mark.sqlite_only
def test_one_shot_upload_is_stored_and_queued(app, client, owner, backend, clip):
    response = _multipart(client, owner, clip)
    assert response.status_code == 202, response.get_json()
    analysis = db.session.get(Analysis, response.get_json()["analysis_id"])
    assert response.get_json()["status"] == "queued"
    assert b"".join(get_storage().iter_chunks(analysis.storage_key)) == clip
    assert analysis.file_size == analysis.declared_size == len(clip)
    assert _video_queue_ids(app) == [analysis.job_id]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "data, filename, content_type, code, status",
    [
        (TEXT, "clip.mp4", "video/mp4", "UNSUPPORTED_FORMAT", 415),
        (b"", "clip.mp4", "video/mp4", "EMPTY_FILE", 422),
        (b"\x00\x00\x00\x18ftypisom" + b"\x00" * 100, "clip.txt", "text/plain", "UNSUPPORTED_FORMAT", 415),
    ],
)
def test_one_shot_refusals_leave_nothing_behind(app, client, owner, data, filename, content_type, code, status):
    response = _multipart(client, owner, data, filename, content_type)
    assert response.status_code == status and _error(response) == code
    assert _count(Analysis) == 0 and _count(Job) == 0
    assert list(get_storage().list_keys(f"users/{owner['user'].id}/")) == []


@pytest.mark.sqlite_only
def test_one_shot_needs_a_file_and_an_owned_session(client, owner, clip):
    response = client.post(
        "/api/v1/uploads",
        data={"session_id": owner["session_id"]},
        headers=owner["headers"],
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "file" in response.get_json()["error"]["details"]["fields"]
    stranger = {"headers": auth_headers(client, make_user()), "session_id": owner["session_id"]}
    response = _multipart(client, stranger, clip)
    assert response.status_code == 404 and _error(response) == "SESSION_NOT_FOUND"


@pytest.mark.sqlite_only
@pytest.mark.settings(max_upload_bytes=2000)
def test_one_shot_over_the_size_limit_is_refused_before_reading(client, owner, clip):
    response = _multipart(client, owner, clip)
    assert response.status_code == 413 and _error(response) == "VIDEO_TOO_LARGE"
    assert _count(Analysis) == 0


@pytest.mark.sqlite_only
def test_one_shot_accepts_bodies_beyond_the_json_limit(app, client, owner):
    import os

    data = b"\x00\x00\x00\x18ftypisom" + os.urandom(app.config["SETTINGS"].max_json_bytes + 500_000)
    response = _multipart(client, owner, data)
    assert response.status_code == 202, response.get_json()
    analysis = db.session.get(Analysis, response.get_json()["analysis_id"])
    assert get_storage().size(analysis.storage_key) == len(data)
