"""Analyses API: listing, status, report, images, retry and delete — all scoped to the owner."""

from __future__ import annotations

import copy
import io
import zipfile

import cv2
import numpy as np
import pytest
from rq import Queue
from sqlalchemy import func, select

from backend_app.adapters.storage import get_storage
from backend_app.extensions import db, redis_store
from backend_app.models import Analysis, Job, ShotDocument
from backend_app.models.base import utcnow
from backend_app.services import ownership
from backend_app.services.video import analyses
from backend_app.tenancy import Tenant
from tests.factories import auth_headers, make_user
from tests.media import make_clip
from tests.uploading import make_session, upload_video


@pytest.fixture(params=["local", "s3"])
def backend(request, app):
    if request.param == "s3":
        request.getfixturevalue("s3_app")
    return request.param


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", seconds=1).read_bytes()


@pytest.fixture
def owner(app, client):
    user = make_user()
    headers = auth_headers(client, user)
    return {"user": user, "headers": headers, "session_id": make_session(client, headers)}


def _jpeg(colour) -> bytes:
    ok, data = cv2.imencode(".jpg", np.full((36, 64, 3), colour, np.uint8))
    assert ok
    return data.tobytes()


def _uploaded(client, owner, clip, session_id=None) -> Analysis:
    analysis_id = upload_video(client, owner["headers"], session_id or owner["session_id"], clip)["analysis_id"]
    return db.session.get(Analysis, analysis_id)


def _complete_as_the_job_would(analysis: Analysis) -> dict[int, bytes]:
    """Write what a finished analysis job leaves behind: keyframes, contact sheet, report, documents."""
    storage, images = get_storage(), {}
    shots = []
    for index in range(2):
        key = f"{analysis.prefix}keyframes/{index}.jpg"
        images[index] = _jpeg((40 * index, 100, 200))
        storage.put_bytes(key, images[index], "image/jpeg")
        shots.append({"index": index, "start_s": index * 0.5, "end_s": index * 0.5 + 0.5, "keyframe_key": key})
        db.session.add(
            ShotDocument(
                user_id=analysis.user_id,
                session_id=analysis.session_id,
                analysis_id=analysis.id,
                shot_index=index,
                start_s=index * 0.5,
                end_s=index * 0.5 + 0.5,
                text=f"shot {index}",
            )
        )
    storage.put_bytes(f"{analysis.prefix}contact_sheet.jpg", _jpeg((0, 0, 0)), "image/jpeg")
    analysis.contact_sheet_key = f"{analysis.prefix}contact_sheet.jpg"
    analysis.report = {"metadata": {"duration_s": 1.0}, "shots": shots, "warnings": [], "timings": {}, "summary": "x"}
    analysis.job.status, analysis.job.stage, analysis.job.progress = "completed", "done", 100
    analysis.job.finished_at = analysis.completed_at = utcnow()
    db.session.commit()
    return images


def _error(response) -> str:
    return response.get_json()["error"]["code"]


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_list_filters_by_session_and_status_and_never_shows_others(client, owner, clip):
    first = _uploaded(client, owner, clip)
    other_session = make_session(client, owner["headers"], "second")
    second = _uploaded(client, owner, clip, other_session)
    second.job.status, second.job.error_code = "failed", "VIDEO_UNREADABLE"
    db.session.commit()
    stranger = {"headers": auth_headers(client, make_user())}
    stranger["session_id"] = make_session(client, stranger["headers"])
    _uploaded(client, stranger, clip)

    def ids(query=""):
        response = client.get(f"/api/v1/analyses{query}", headers=owner["headers"])
        assert response.status_code == 200, response.get_json()
        return [a["id"] for a in response.get_json()["analyses"]]

    assert sorted(ids()) == sorted([first.id, second.id])
    assert ids(f"?session_id={owner['session_id']}") == [first.id]
    assert ids("?status=failed") == [second.id]
    assert ids("?status=queued") == [first.id]
    response = client.get(f"/api/v1/analyses?session_id={stranger['session_id']}", headers=owner["headers"])
    assert response.status_code == 404 and _error(response) == "SESSION_NOT_FOUND"
    response = client.get("/api/v1/analyses?status=exploded", headers=owner["headers"])
    assert response.status_code == 422


def test_status_object(client, owner, clip):
    analysis = _uploaded(client, owner, clip)
    analysis.job.status, analysis.job.error_code, analysis.job.error_message = "failed", "VIDEO_TOO_LONG", "too long"
    db.session.commit()
    body = client.get(f"/api/v1/analyses/{analysis.id}", headers=owner["headers"]).get_json()
    assert body["status"] == "failed" and body["error_code"] == "VIDEO_TOO_LONG"
    assert body["error_message"] == "too long" and body["eta_s"] is None
    assert {"stage", "progress", "filename", "session_id"} <= set(body)


@pytest.mark.sqlite_only
def test_report_waits_for_completion_then_links_images(client, owner, backend, clip):
    analysis = _uploaded(client, owner, clip)
    response = client.get(f"/api/v1/analyses/{analysis.id}/report", headers=owner["headers"])
    assert response.status_code == 409 and _error(response) == "ANALYSIS_NOT_READY"
    assert client.get(f"/api/v1/analyses/{analysis.id}/keyframes/0", headers=owner["headers"]).status_code == 404

    images = _complete_as_the_job_would(analysis)
    report = client.get(f"/api/v1/analyses/{analysis.id}/report", headers=owner["headers"]).get_json()
    assert [s["keyframe_url"] for s in report["shots"]] == [
        f"/api/v1/analyses/{analysis.id}/keyframes/0",
        f"/api/v1/analyses/{analysis.id}/keyframes/1",
    ]
    assert all("keyframe_key" not in s for s in report["shots"])
    assert report["contact_sheet_url"] == f"/api/v1/analyses/{analysis.id}/contact-sheet"
    for shot in report["shots"]:
        image = client.get(shot["keyframe_url"], headers=owner["headers"])
        assert image.status_code == 200 and image.mimetype == "image/jpeg"
        assert image.get_data() == images[shot["index"]]
    sheet = client.get(report["contact_sheet_url"], headers=owner["headers"])
    assert sheet.status_code == 200 and sheet.get_data()[:2] == b"\xff\xd8"
    missing = client.get(f"/api/v1/analyses/{analysis.id}/keyframes/7", headers=owner["headers"])
    assert missing.status_code == 404 and _error(missing) == "KEYFRAME_NOT_FOUND"


@pytest.mark.sqlite_only
def test_report_links_leave_the_stored_report_untouched(client, owner, clip):
    analysis = _uploaded(client, owner, clip)
    _complete_as_the_job_would(analysis)
    analysis.report = {**analysis.report, "timeline": [{"t": 0.0, "motion": 0.1}]}
    db.session.commit()
    stored = copy.deepcopy(analysis.report)
    links = {"keyframe_url": lambda index: f"/k/{index}", "contact_sheet_url": "/sheet"}
    report = analyses.report(Tenant(owner["user"].id), analysis.id, **links)
    assert all("keyframe_key" not in s and s["keyframe_url"] for s in report["shots"])
    report["shots"][0]["start_s"] = 99.0
    report["shots"].append({"index": 9})
    report["summary"] = "changed"
    assert analysis.report == stored and "analysis_id" not in analysis.report
    db.session.expire_all()
    assert db.session.get(Analysis, analysis.id).report == stored


def test_every_route_hides_another_users_analysis(client, owner, clip):
    analysis = _uploaded(client, owner, clip)
    _complete_as_the_job_would(analysis)
    stranger = auth_headers(client, make_user())
    base = f"/api/v1/analyses/{analysis.id}"
    for method, url in [
        ("GET", base),
        ("GET", f"{base}/report"),
        ("GET", f"{base}/keyframes/0"),
        ("GET", f"{base}/contact-sheet"),
        ("POST", f"{base}/retry"),
        ("DELETE", base),
        ("GET", f"/api/v1/uploads/status/{analysis.id}"),
    ]:
        response = client.open(url, method=method, headers=stranger)
        assert response.status_code == 404, (method, url)
        assert _error(response) == "ANALYSIS_NOT_FOUND"
    assert client.get("/api/v1/analyses", headers=stranger).get_json()["analyses"] == []
    assert db.session.get(Analysis, analysis.id) is not None


def test_retry_of_a_failed_analysis_requeues_it(app, client, owner, clip):
    analysis = _uploaded(client, owner, clip)
    Queue("video", connection=redis_store.conn).empty()
    url = f"/api/v1/analyses/{analysis.id}/retry"
    response = client.post(url, headers=owner["headers"])
    assert response.status_code == 409 and _error(response) == "JOB_NOT_RETRYABLE"  # still queued
    analysis.job.status, analysis.job.error_code, analysis.job.attempts = "failed", "WORKER_LOST", 3
    db.session.commit()
    response = client.post(url, headers=owner["headers"])
    assert response.status_code == 202 and response.get_json()["status"] == "queued"
    assert response.get_json()["error_code"] is None
    assert Queue("video", connection=redis_store.conn).job_ids == [analysis.job_id]


def test_a_failure_a_retry_cannot_change_is_not_retried_and_says_why(app, client, owner, clip):
    analysis = _uploaded(client, owner, clip)
    Queue("video", connection=redis_store.conn).empty()
    analysis.job.status, analysis.job.error_code, analysis.job.attempts = "failed", "UNSUPPORTED_CODEC", 1
    db.session.commit()
    status = client.get(f"/api/v1/analyses/{analysis.id}", headers=owner["headers"]).get_json()
    assert status["retryable"] is False and status["retry_note"] == "the same file would fail the same way"
    response = client.post(f"/api/v1/analyses/{analysis.id}/retry", headers=owner["headers"])
    assert response.status_code == 409 and _error(response) == "JOB_NOT_RETRYABLE"
    assert "same way" in response.get_json()["error"]["message"]
    assert response.get_json()["error"]["details"]["error_code"] == "UNSUPPORTED_CODEC"
    assert Queue("video", connection=redis_store.conn).job_ids == []
    db.session.expire_all()
    assert db.session.get(Analysis, analysis.id).job.status == "failed"


@pytest.mark.sqlite_only
def test_retry_needs_the_uploaded_video(client, owner, backend, clip):
    analysis = _uploaded(client, owner, clip)
    analysis.job.status = "failed"
    db.session.commit()
    get_storage().delete(analysis.storage_key)
    response = client.post(f"/api/v1/analyses/{analysis.id}/retry", headers=owner["headers"])
    assert response.status_code == 409 and _error(response) == "SOURCE_MISSING"


@pytest.mark.sqlite_only
@pytest.mark.settings(user_job_slots=0)  # both of the user's jobs on RQ at once (no turns to wait for)
def test_delete_removes_objects_documents_rows_and_the_queued_job(app, client, owner, backend, clip):
    keep = _uploaded(client, owner, clip)
    analysis = _uploaded(client, owner, clip)
    _complete_as_the_job_would(keep)
    analysis.job.status = "queued"
    db.session.commit()
    assert analysis.job_id in Queue("video", connection=redis_store.conn).job_ids
    job_id = analysis.job_id

    assert client.delete(f"/api/v1/analyses/{analysis.id}", headers=owner["headers"]).status_code == 204
    db.session.expire_all()
    assert db.session.get(Analysis, analysis.id) is None and db.session.get(Job, job_id) is None
    assert list(get_storage().list_keys(analysis.prefix)) == []
    assert job_id not in Queue("video", connection=redis_store.conn).job_ids
    assert len(list(get_storage().list_keys(keep.prefix))) == 4  # the other analysis is untouched
    assert _count(ShotDocument) == 2

    assert client.delete(f"/api/v1/analyses/{keep.id}", headers=owner["headers"]).status_code == 204
    assert _count(ShotDocument) == 0 and list(get_storage().list_keys(keep.prefix)) == []
    assert client.get(f"/api/v1/analyses/{keep.id}", headers=owner["headers"]).status_code == 404


@pytest.mark.sqlite_only
def test_deleting_a_session_removes_its_analyses_and_objects(client, owner, backend, clip):
    analysis = _uploaded(client, owner, clip)
    _complete_as_the_job_would(analysis)
    other = _uploaded(client, owner, clip, make_session(client, owner["headers"], "keep"))
    assert client.delete(f"/api/v1/sessions/{owner['session_id']}", headers=owner["headers"]).status_code == 204
    db.session.expire_all()
    assert db.session.get(Analysis, analysis.id) is None
    assert list(get_storage().list_keys(analysis.prefix)) == []
    assert _count(ShotDocument) == 0
    assert get_storage().size(other.storage_key) == len(clip)


@pytest.mark.sqlite_only
def test_export_streams_stored_files_and_erasure_removes_them(client, owner, backend, clip):
    analysis = _uploaded(client, owner, clip)
    images = _complete_as_the_job_would(analysis)
    user_id = owner["user"].id
    archive = zipfile.ZipFile(io.BytesIO(b"".join(ownership.export_stream(user_id))))
    assert archive.read(f"files/{analysis.prefix}{analysis.filename}") == clip  # the video under its own name
    assert archive.read(f"files/{analysis.prefix}keyframes/1.jpg") == images[1]

    removed = ownership.erase_user(user_id)
    assert removed["storage_objects"] == 4
    assert list(get_storage().list_keys(f"users/{user_id}/")) == []


@pytest.mark.sqlite_only
def test_health_reports_storage(client, backend):
    report = client.get("/health").get_json()
    storage = report["checks"]["storage"]
    assert storage["ok"] is True and storage["backend"] == backend


@pytest.mark.sqlite_only
def test_retention_removes_abandoned_uploads_but_not_fresh_or_queued_ones(app, client, owner, backend, clip):
    from datetime import timedelta

    from backend_app.services import retention

    def started(size=10):
        return client.post(
            "/api/v1/uploads/init",
            headers=owner["headers"],
            json={
                "filename": "a.mp4",
                "content_type": "video/mp4",
                "file_size": size,
                "session_id": owner["session_id"],
            },
        ).get_json()["analysis_id"]

    abandoned, fresh = db.session.get(Analysis, started(len(clip))), started()
    get_storage().put_bytes(abandoned.storage_key, clip[:100])  # a partial upload, never completed
    queued = _uploaded(client, owner, clip)
    long_ago = utcnow() - timedelta(seconds=app.config["SETTINGS"].signed_url_ttl_s + 3700)
    abandoned.created_at = queued.created_at = long_ago
    db.session.commit()

    assert retention.purge(dry_run=True)["abandoned_uploads"] == 1
    counts = retention.purge()
    assert counts["abandoned_uploads"] == 1 and counts["abandoned_upload_objects"] == 1
    db.session.expire_all()
    assert {a.id for a in db.session.execute(select(Analysis)).scalars()} == {fresh, queued.id}
    assert get_storage().size(queued.storage_key) == len(clip)
