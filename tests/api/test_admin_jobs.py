"""Admin job endpoints: the dead-letter list, retry one / all, requeue-stale, reconcile, diagnose."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend_app.extensions import db, get_queue
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.queue.enqueue import create_job
from tests.factories import auth_headers, make_user


@pytest.fixture
def admin(client):
    return auth_headers(client, make_user("admin"))


def _job(status: str = "failed", code: str | None = "AI_PROVIDER_FAILED", age_s: int = 0, **extra) -> Job:
    job = create_job("selftest", user_id=None)
    job.status, job.error_code, job.attempts = status, code, extra.pop("attempts", 3)
    job.queued_at = job.created_at = utcnow() - timedelta(seconds=age_s)
    for key, value in extra.items():
        setattr(job, key, value)
    db.session.commit()
    return job


def test_admin_only(client):
    user = auth_headers(client, make_user())
    for path in ("/api/v1/admin/jobs/retry-failed", "/api/v1/admin/jobs/requeue-stale", "/api/v1/admin/jobs/reconcile"):
        assert client.post(path, headers=user).status_code == 403
    assert client.get("/api/v1/admin/jobs/diagnose", headers=user).status_code == 403


def test_failed_list_and_retry_one(client, admin):
    failed = _job()
    _job(status="completed", code=None)
    listed = client.get("/api/v1/admin/jobs?status=failed", headers=admin).get_json()["jobs"]
    assert [j["id"] for j in listed] == [failed.id]
    r = client.post(f"/api/v1/admin/jobs/{failed.id}/retry", headers=admin)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["status"], body["attempts"], body["error_code"]) == ("queued", 0, None)
    assert failed.id in get_queue("default").get_job_ids()
    again = client.post(f"/api/v1/admin/jobs/{failed.id}/retry", headers=admin)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "JOB_NOT_RETRYABLE"
    assert client.post("/api/v1/admin/jobs/nope/retry", headers=admin).status_code == 404


def test_retry_all_failed(client, admin):
    ids = {_job().id, _job(code="WORKER_LOST").id}
    r = client.post("/api/v1/admin/jobs/retry-failed", headers=admin)
    assert r.status_code == 200 and r.get_json()["retried"] == 2
    assert ids <= set(get_queue("default").get_job_ids())
    assert client.get("/api/v1/admin/jobs?status=failed", headers=admin).get_json()["jobs"] == []


def test_a_job_refused_at_upload_is_not_retried_and_retry_all_passes_it_by(client, admin):
    """Its file was deleted when it was refused: a retry could only fail again, with a message
    (STORAGE_DOWNLOAD_FAILED) that would tell its owner something untrue."""
    refused = _job(code="UNSUPPORTED_FORMAT", stage="upload")
    other = _job()
    r = client.post(f"/api/v1/admin/jobs/{refused.id}/retry", headers=admin)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "JOB_NOT_RETRYABLE"
    assert client.post("/api/v1/admin/jobs/retry-failed", headers=admin).get_json()["retried"] == 1
    db.session.expire_all()
    assert (db.session.get(Job, refused.id).status, db.session.get(Job, other.id).status) == ("failed", "queued")
    assert refused.id not in get_queue("default").get_job_ids()


def test_a_retry_that_read_the_row_before_another_one_moved_it_changes_nothing(app):
    """Two clicks at once: both read the row as failed; the first queued it and a worker has
    started it. The second must not reset the running row (attempts 0, queued) and enqueue it again."""
    from backend_app.errors import Conflict
    from backend_app.services import jobs as jobs_service

    failed = _job()
    seen = db.session.get(Job, failed.id)
    assert seen.status == "failed"  # what the second request read
    db.session.expunge(seen)
    with db.engine.begin() as other:  # meanwhile: retried by the first request, claimed by a worker
        other.execute(db.update(Job).where(Job.id == failed.id).values(status="running", attempts=1))
    with pytest.raises(Conflict) as refused:
        jobs_service.retry(db.session.merge(seen, load=False))
    assert refused.value.code == "JOB_NOT_RETRYABLE"
    db.session.expire_all()
    assert (db.session.get(Job, failed.id).status, db.session.get(Job, failed.id).attempts) == ("running", 1)
    assert failed.id not in get_queue("default").get_job_ids()


def test_requeue_stale_dry_run_then_for_real(client, admin):
    old = _job(status="queued", code=None, age_s=15 * 60, attempts=0)
    young = _job(status="queued", code=None, age_s=60, attempts=0)
    dry = client.post("/api/v1/admin/jobs/requeue-stale", json={"max_age_minutes": 10, "dry_run": True}, headers=admin)
    assert dry.status_code == 200 and [j["id"] for j in dry.get_json()["jobs"]] == [old.id]
    assert old.id not in get_queue("default").get_job_ids()
    real = client.post("/api/v1/admin/jobs/requeue-stale", json={"max_age_minutes": 10}, headers=admin).get_json()
    assert real["count"] == 1 and real["jobs"][0]["enqueued"] is True and real["dry_run"] is False
    assert old.id in get_queue("default").get_job_ids() and young.id not in get_queue("default").get_job_ids()
    bad = client.post("/api/v1/admin/jobs/requeue-stale", json={"max_age_minutes": "x"}, headers=admin)
    assert bad.status_code == 422


@pytest.mark.settings(job_lost_after_s=30)
def test_reconcile_and_diagnose(client, admin):
    lost = _job(
        status="running",
        code=None,
        attempts=1,
        worker_name="h:1",
        started_at=utcnow() - timedelta(seconds=100),
        heartbeat_at=utcnow() - timedelta(seconds=100),
    )
    report = client.post("/api/v1/admin/jobs/reconcile", json={"dry_run": True}, headers=admin).get_json()
    assert [e["id"] for e in report["recovered"]] == [lost.id] and report["dry_run"] is True
    diag = client.get("/api/v1/admin/jobs/diagnose", headers=admin).get_json()
    assert diag["running_without_heartbeat"][0]["id"] == lost.id
    assert any("stopped heartbeating" in p for p in diag["problems"])
    assert any("no worker is alive" in p for p in diag["problems"])
    report = client.post("/api/v1/admin/jobs/reconcile", headers=admin).get_json()
    assert report["recovered"][0]["status"] == "queued"


def test_failures_a_retry_cannot_change_are_skipped_and_counted_unless_forced(client, admin):
    """Retry all re-ran UNSUPPORTED_CODEC and VIDEO_TOO_LONG jobs, which failed again the same way."""
    codec = _job(code="UNSUPPORTED_CODEC")
    too_long = _job(code="VIDEO_TOO_LONG")
    lost = _job(code="WORKER_LOST")
    refused = _job(code="UNSUPPORTED_FORMAT", stage="upload")
    listed = {j["id"]: j for j in client.get("/api/v1/admin/jobs?status=failed", headers=admin).get_json()["jobs"]}
    assert (listed[codec.id]["retryable"], listed[lost.id]["retryable"]) == (False, True)
    assert "same way" in listed[codec.id]["retry_note"] and listed[lost.id]["retry_note"] is None

    one = client.post(f"/api/v1/admin/jobs/{codec.id}/retry", headers=admin)
    assert one.status_code == 409 and one.get_json()["error"]["code"] == "JOB_NOT_RETRYABLE"
    assert one.get_json()["error"]["details"] == {
        "status": "failed",
        "stage": None,
        "error_code": "UNSUPPORTED_CODEC",
        "force": True,
    }
    body = client.post("/api/v1/admin/jobs/retry-failed", headers=admin).get_json()
    assert (body["retried"], body["skipped"]) == (1, 3) and [j["id"] for j in body["jobs"]] == [lost.id]
    assert body["skipped_by_code"] == {"UNSUPPORTED_CODEC": 1, "VIDEO_TOO_LONG": 1, "UNSUPPORTED_FORMAT": 1}
    assert set(get_queue("default").get_job_ids()) == {lost.id}

    # An admin who raised the limits forces them; an upload refused on arrival has no file to run.
    forced = client.post(f"/api/v1/admin/jobs/{too_long.id}/retry", json={"force": True}, headers=admin)
    assert forced.status_code == 200 and forced.get_json()["status"] == "queued"
    body = client.post("/api/v1/admin/jobs/retry-failed", json={"force": True}, headers=admin).get_json()
    assert (body["retried"], body["skipped_by_code"]) == (1, {"UNSUPPORTED_FORMAT": 1})
    assert set(get_queue("default").get_job_ids()) == {lost.id, too_long.id, codec.id}
    refused_again = client.post(f"/api/v1/admin/jobs/{refused.id}/retry", json={"force": True}, headers=admin)
    assert refused_again.status_code == 409 and refused_again.get_json()["error"]["details"]["force"] is False
    bad = client.post("/api/v1/admin/jobs/retry-failed", json={"force": "yes"}, headers=admin)
    assert bad.status_code == 422
