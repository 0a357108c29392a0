"""Per-user quotas: coded refusals at upload init (signed and multipart) before anything is
stored or queued, admin overrides (API and CLI), and the remaining quota in GET /usage."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from backend_app.extensions import db
from backend_app.models import Analysis, Job
from tests.factories import auth_headers, make_user
from tests.uploading import init_upload, make_session

MP4_HEAD = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 1024


@pytest.fixture
def owner(app, client):
    user = make_user()
    headers = auth_headers(client, user)
    return {"user": user, "headers": headers, "session_id": make_session(client, headers)}


def _counts(user_id: str) -> tuple[int, int]:
    analyses = db.session.execute(select(func.count()).where(Analysis.user_id == user_id)).scalar()
    jobs = db.session.execute(select(func.count()).where(Job.user_id == user_id)).scalar()
    return analyses, jobs


def _error(response) -> dict:
    return response.get_json()["error"]


@pytest.mark.settings(user_storage_bytes=10_000)
def test_storage_over_the_limit_is_413_before_anything_is_stored(client, owner):
    assert init_upload(client, owner["headers"], owner["session_id"], size=6_000).status_code == 201
    refused = init_upload(client, owner["headers"], owner["session_id"], size=6_000)
    assert refused.status_code == 413
    error = _error(refused)
    assert error["code"] == "QUOTA_STORAGE_EXCEEDED" and error["details"]["used"] == 6_000
    assert _counts(owner["user"].id) == (1, 1)


@pytest.mark.settings(user_storage_bytes=1_000)
def test_multipart_upload_over_storage_is_refused_and_nothing_kept(client, owner):
    form = {"session_id": owner["session_id"], "file": (io.BytesIO(MP4_HEAD), "clip.mp4", "video/mp4")}
    refused = client.post("/api/v1/uploads", data=form, headers=owner["headers"], content_type="multipart/form-data")
    assert refused.status_code == 413 and _error(refused)["code"] == "QUOTA_STORAGE_EXCEEDED"
    assert _counts(owner["user"].id) == (0, 0)


@pytest.mark.settings(user_uploads_per_hour=2, user_concurrent_jobs=100)
def test_uploads_per_hour_is_429_with_retry_after(client, owner):
    for _ in range(2):
        assert init_upload(client, owner["headers"], owner["session_id"], size=100).status_code == 201
    refused = init_upload(client, owner["headers"], owner["session_id"], size=100)
    assert refused.status_code == 429 and _error(refused)["code"] == "QUOTA_UPLOADS_PER_HOUR"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert _counts(owner["user"].id) == (2, 2)


@pytest.mark.settings(user_concurrent_jobs=2)
def test_concurrent_jobs_is_429_with_retry_after_also_for_multipart(client, owner):
    for _ in range(2):
        assert init_upload(client, owner["headers"], owner["session_id"], size=100).status_code == 201
    refused = init_upload(client, owner["headers"], owner["session_id"], size=100)
    assert refused.status_code == 429 and _error(refused)["code"] == "QUOTA_CONCURRENT_JOBS"
    assert int(refused.headers["Retry-After"]) > 0
    form = {"session_id": owner["session_id"], "file": (io.BytesIO(MP4_HEAD), "clip.mp4", "video/mp4")}
    multipart = client.post("/api/v1/uploads", data=form, headers=owner["headers"], content_type="multipart/form-data")
    assert multipart.status_code == 429 and _error(multipart)["code"] == "QUOTA_CONCURRENT_JOBS"
    assert _counts(owner["user"].id) == (2, 2)
    # Another user is not affected by this one's limit.
    other = make_user()
    headers = auth_headers(client, other)
    assert init_upload(client, headers, make_session(client, headers), size=100).status_code == 201


@pytest.mark.settings(user_concurrent_jobs=1, user_storage_bytes=1_000)
def test_an_admin_raises_one_users_quota_and_usage_shows_what_remains(client, owner):
    admin = make_user("admin")
    admin_headers = auth_headers(client, admin)
    url = f"/api/v1/admin/users/{owner['user'].id}/quota"
    assert init_upload(client, owner["headers"], owner["session_id"], size=400).status_code == 201
    assert init_upload(client, owner["headers"], owner["session_id"], size=400).status_code == 429
    assert client.put(url, json={"concurrent_jobs": 5}, headers=owner["headers"]).status_code == 403
    changed = client.put(url, json={"concurrent_jobs": 5, "storage_bytes": 5_000}, headers=admin_headers)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["overrides"] == {"storage_bytes": 5_000, "uploads_per_hour": None, "concurrent_jobs": 5}
    assert init_upload(client, owner["headers"], owner["session_id"], size=400).status_code == 201
    quota = client.get("/api/v1/usage", headers=owner["headers"]).get_json()["quota"]
    assert quota["storage_bytes"] == {"limit": 5_000, "used": 800, "remaining": 4_200}
    assert quota["concurrent_jobs"] == {"limit": 5, "used": 2, "remaining": 3}
    assert quota["uploads_per_hour"]["used"] == 2
    # null resets a limit to the default; a missing field is kept.
    reset = client.put(url, json={"concurrent_jobs": None}, headers=admin_headers).get_json()
    assert reset["overrides"]["concurrent_jobs"] is None and reset["overrides"]["storage_bytes"] == 5_000
    assert reset["quota"]["concurrent_jobs"]["limit"] == 1
    assert client.get(url, headers=admin_headers).get_json()["quota"]["storage_bytes"]["limit"] == 5_000


@pytest.mark.parametrize(
    "body, field",
    [({"concurrent_jobs": -1}, "concurrent_jobs"), ({"storage_bytes": "lots"}, "storage_bytes"), ({"disk": 5}, "disk")],
)
def test_bad_quota_values_are_coded_422(client, owner, body, field):
    admin_headers = auth_headers(client, make_user("admin"))
    response = client.put(f"/api/v1/admin/users/{owner['user'].id}/quota", json=body, headers=admin_headers)
    assert response.status_code == 422 and field in _error(response)["details"]["fields"]
    missing = client.put("/api/v1/admin/users/nobody/quota", json={"concurrent_jobs": 1}, headers=admin_headers)
    assert missing.status_code == 404 and _error(missing)["code"] == "USER_NOT_FOUND"


def test_cli_set_quota(app, owner):
    runner = app.test_cli_runner()
    email = owner["user"].email
    result = runner.invoke(args=["users", "set-quota", "--email", email, "--concurrent-jobs", "7"])
    assert result.exit_code == 0, result.output
    assert "concurrent_jobs: 7" in result.output
    result = runner.invoke(args=["users", "set-quota", "--email", email, "--concurrent-jobs", "default"])
    assert result.exit_code == 0 and "concurrent_jobs: 10 (default)" in result.output
    bad = runner.invoke(args=["users", "set-quota", "--email", email, "--storage-bytes", "-3"])
    assert bad.exit_code != 0 and "storage_bytes" in bad.output
    assert runner.invoke(args=["users", "set-quota", "--email", "no@one.test", "--storage-bytes", "1"]).exit_code != 0


@pytest.mark.settings(user_storage_bytes=10_000, user_uploads_per_hour=3)
def test_documents_count_toward_storage_and_uploads_per_hour(client, owner):
    """Document bytes are the user's storage as video bytes are: a document and a video that fit
    together are taken, the next one that would not fit is refused, whichever kind it is; and a
    document is an upload of the hour like a video."""
    from tests.document_uploads import init_document

    headers, session_id = owner["headers"], owner["session_id"]
    notes = b"# Notes\n\n" + b"word " * 1_200  # 6,009 bytes of Markdown
    assert init_document(client, headers, session_id, notes, "notes.md").status_code == 201
    video = init_upload(client, headers, session_id, size=6_000)
    assert video.status_code == 413 and _error(video)["code"] == "QUOTA_STORAGE_EXCEEDED"
    assert _error(video)["details"]["used"] == len(notes)
    usage = client.get("/api/v1/usage", headers=headers).get_json()["quota"]
    assert usage["storage_bytes"]["used"] == len(notes) and usage["uploads_per_hour"]["used"] == 1
    assert init_upload(client, headers, session_id, size=3_000).status_code == 201
    second = init_document(client, headers, session_id, b"# More\n\nsmall", "more.md")
    assert second.status_code == 201
    hour = init_document(client, headers, session_id, b"# Again\n\nsmall", "again.md")
    assert hour.status_code == 429 and _error(hour)["code"] == "QUOTA_UPLOADS_PER_HOUR"
