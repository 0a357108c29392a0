"""Admin pages: health refreshing itself, failed jobs with retry, users."""

from __future__ import annotations

import pytest

from backend_app.extensions import db
from backend_app.models import Job, User
from backend_app.models.job import FAILED, QUEUED
from backend_app.queue.enqueue import create_job
from tests.web.conftest import text

pytestmark = pytest.mark.sqlite_only
ADMIN_PAGES = ["/admin/health", "/admin/jobs", "/admin/users"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_refuse_ordinary_users(page, url):
    response = page.get(url)
    assert response.status_code == 403
    assert "This page is for admins." in text(response)


def test_health_page_shows_every_check_and_polls_itself(admin_page):
    response = admin_page.get("/admin/health")
    body = text(response)
    assert response.status_code == 200
    for check in ("database", "redis", "workers", "queues", "jobs"):
        assert f'data-check="{check}"' in body
    assert 'hx-trigger="every 5s"' in body
    assert "No worker is running" in body  # no worker in this test: the page says what to do
    fragment = admin_page.get("/admin/health", htmx=True)
    assert "<html" not in text(fragment) and 'id="health"' in text(fragment)
    assert fragment.headers["Vary"] == "HX-Request"


def _failed_job(user_id=None, code="STORAGE_DOWNLOAD_FAILED") -> Job:
    job = create_job("selftest", user_id=user_id, payload={"echo": "x"}, status=FAILED)
    job.error_code, job.error_message = code, "Downloading the video failed: connection reset."
    db.session.commit()
    return job


def test_jobs_page_lists_failed_with_reason_and_retries_one(admin_page, redis_server):
    empty = text(admin_page.get("/admin/jobs"))
    assert "No failed jobs" in empty
    job = _failed_job()
    body = text(admin_page.get("/admin/jobs"))
    assert "STORAGE_DOWNLOAD_FAILED" in body and "connection reset" in body
    response = admin_page.post(f"/admin/jobs/{job.id}/retry", htmx=True)
    assert response.status_code == 200 and "queued again" in text(response)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == QUEUED


def test_a_job_refused_at_upload_offers_no_retry(admin_page, redis_server):
    refused = _failed_job(code="UNSUPPORTED_FORMAT")
    refused.stage = "upload"
    db.session.commit()
    body = text(admin_page.get("/admin/jobs"))
    assert f"/admin/jobs/{refused.id}/retry" not in body and "refused at upload" in body
    assert 'data-testid="retry-all"' not in body  # nothing retryable on the list
    response = admin_page.post(f"/admin/jobs/{refused.id}/retry", htmx=True)
    assert "nothing to run again" in text(response)
    db.session.expire_all()
    assert db.session.get(Job, refused.id).status == "failed"


def test_failures_a_retry_cannot_change_are_skipped_by_retry_all_and_said_and_can_be_forced(admin_page, redis_server):
    hopeless = [_failed_job(code="UNSUPPORTED_CODEC"), _failed_job(code="VIDEO_TOO_LONG")]
    hopeful = _failed_job()
    body = text(admin_page.get("/admin/jobs"))
    assert "Retry all (1)" in body and 'data-testid="retry-skipped"' in body
    assert "2 failed jobs skipped" in body and "UNSUPPORTED_CODEC, VIDEO_TOO_LONG" in body
    assert body.count('data-testid="retry-force"') == 2 and "the same file would fail the same way" in body
    response = admin_page.post("/admin/jobs/retry-all", htmx=True)
    said = text(response)
    assert "1 failed job(s) queued again. 2 skipped that a retry cannot help" in said
    assert "(UNSUPPORTED_CODEC: 1, VIDEO_TOO_LONG: 1)" in said
    db.session.expire_all()
    assert [db.session.get(Job, j.id).status for j in (*hopeless, hopeful)] == [FAILED, FAILED, QUEUED]
    refused = admin_page.post(f"/admin/jobs/{hopeless[0].id}/retry", htmx=True)
    assert "A retry cannot help" in text(refused)
    forced = admin_page.post(f"/admin/jobs/{hopeless[1].id}/retry", data={"force": "1"}, htmx=True)
    assert "queued again" in text(forced)
    admin_page.post("/admin/jobs/retry-all", data={"force": "1"}, htmx=True)
    db.session.expire_all()
    assert {db.session.get(Job, j.id).status for j in hopeless} == {QUEUED}


def test_retry_all_requeues_every_failed_job(admin_page, redis_server):
    jobs = [_failed_job() for _ in range(3)]
    response = admin_page.post("/admin/jobs/retry-all")
    assert response.status_code == 303
    db.session.expire_all()
    assert {db.session.get(Job, j.id).status for j in jobs} == {QUEUED}


def test_retry_needs_csrf(admin_page):
    job = _failed_job()
    response = admin_page.post(f"/admin/jobs/{job.id}/retry", csrf=False)
    assert response.status_code == 403 and "CSRF_FAILED" in text(response)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == FAILED


def test_users_page_promotes_and_disables(admin_page, page):
    body = text(admin_page.get("/admin/users"))
    assert page.user.email in body and "(you)" in body
    response = admin_page.post(f"/admin/users/{page.user.id}/promote", htmx=True)
    assert "promoted" in text(response)
    admin_page.post(f"/admin/users/{page.user.id}/disable", htmx=True)
    db.session.expire_all()
    user = db.session.get(User, page.user.id)
    assert user.role == "admin" and user.disabled
    # the disabled account's cookies stop working, and the login page says why
    refused = page.get("/sessions")
    assert refused.status_code == 302 and "reason=disabled" in refused.headers["Location"]
    assert "This account is disabled" in text(page.get(refused.headers["Location"]))


def test_admin_cannot_disable_self(admin_page):
    response = admin_page.post(f"/admin/users/{admin_page.user.id}/disable", htmx=True)
    assert response.status_code == 409 and "ask another admin" in text(response)


def test_unknown_user_is_404(admin_page):
    assert admin_page.post("/admin/users/nope/promote").status_code == 404


def test_jobs_page_diagnoses_and_requeues_stale(admin_page, redis_server):
    body = text(admin_page.get("/admin/jobs"))
    assert 'data-testid="diagnosis"' in body and "DOWN" in body  # no worker is running in this test
    job = create_job("selftest", user_id=None, payload={}, status=QUEUED)
    db.session.commit()
    response = admin_page.post("/admin/jobs/requeue-stale", data={"max_age_minutes": "0"}, htmx=True)
    assert response.status_code == 200 and "1 stale queued job(s)" in text(response)
    db.session.expire_all()
    assert db.session.get(Job, job.id).enqueued_at is not None
    bad = admin_page.post("/admin/jobs/requeue-stale", data={"max_age_minutes": "soon"}, htmx=True)
    assert "in minutes" in text(bad)


@pytest.mark.settings(user_concurrent_jobs=10)
def test_users_page_sets_and_resets_a_users_quotas(admin_page, page):
    body = text(admin_page.get("/admin/users"))
    assert f'data-quota="{page.user.email}"' in body and 'placeholder="10"' in body
    form = {"storage_bytes": "5000", "uploads_per_hour": "", "concurrent_jobs": "25"}
    response = admin_page.post(f"/admin/users/{page.user.id}/quota", data=form, htmx=True)
    assert response.status_code == 200 and "quotas set" in text(response) and "concurrent jobs 25" in text(response)
    assert page.get("/usage").status_code == 200 and "Jobs waiting or running at once: 25" in text(page.get("/usage"))
    bad = admin_page.post(f"/admin/users/{page.user.id}/quota", data={"concurrent_jobs": "-1"}, htmx=True)
    assert bad.status_code == 422 and "concurrent_jobs" in text(bad)
    admin_page.post(f"/admin/users/{page.user.id}/quota", data={"concurrent_jobs": ""}, htmx=True)
    assert "Jobs waiting or running at once: 10" in text(page.get("/usage"))
    assert page.post(f"/admin/users/{page.user.id}/quota", data={"concurrent_jobs": "99"}).status_code == 403
