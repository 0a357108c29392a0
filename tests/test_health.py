import pytest

from tests.factories import auth_headers, make_user


def test_ping(client):
    assert client.get("/ping").get_json() == {"pong": True}


def test_health_degraded_without_worker(client):
    r = client.get("/health")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]
    assert body["checks"]["workers"] == {**body["checks"]["workers"], "ok": False, "alive": 0}
    assert set(body["checks"]["queues"]["depth"]) == {"video", "llm", "default"}


def test_health_healthy_with_live_worker(client, worker):
    r = client.get("/health")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["status"] == "healthy" and body["checks"]["workers"]["alive"] == 1


def test_health_reports_redis_down(client, app):
    from redis import Redis

    app.extensions["redis"] = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    r = client.get("/health")
    assert r.status_code == 503
    checks = r.get_json()["checks"]
    assert checks["redis"]["ok"] is False and "Connection" in checks["redis"]["error"]
    assert checks["database"]["ok"] is True


def test_simple_health(client):
    r = client.get("/api/v1/simple-health")
    assert r.status_code == 200 and r.get_json()["status"] == "ok"


@pytest.mark.sqlite_only
def test_metrics_exposes_requests_latency_and_queue_depth(client):
    client.get("/ping")
    h = auth_headers(client, make_user())
    client.get("/api/v1/sessions", headers=h)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'framewise_http_requests_total{endpoint="/api/v1/sessions",method="GET",status="200"' in text
    assert "framewise_http_request_seconds_bucket" in text
    assert 'framewise_queue_depth{queue="video"}' in text


@pytest.mark.sqlite_only
def test_metrics_count_jobs_by_kind_and_status_from_the_rows(client):
    """The counter was bumped inside RQ's work horse and died with it: a worker's finished jobs
    never showed. The gauge is read from the job rows at scrape time."""
    from backend_app.extensions import db
    from backend_app.queue.enqueue import create_job

    for status in ("completed", "completed", "failed"):
        create_job("selftest", user_id=None, status=status)
    db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert 'framewise_jobs{kind="selftest",status="completed"} 2.0' in text
    assert 'framewise_jobs{kind="selftest",status="failed"} 1.0' in text
    # A pair whose rows are gone reads 0, not its last count (an alert on failed jobs must clear).
    from backend_app.models import Job

    Job.query.filter_by(kind="selftest", status="failed").delete()
    db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert 'framewise_jobs{kind="selftest",status="failed"} 0.0' in text
    assert 'framewise_jobs{kind="video_analysis",status="queued"} 0.0' in text


def test_request_id_is_echoed(client):
    r = client.get("/ping", headers={"X-Request-ID": "abc123"})
    assert r.headers["X-Request-ID"] == "abc123"
    assert len(client.get("/ping").headers["X-Request-ID"]) == 32


@pytest.mark.settings(stale_queued_s=60, job_lost_after_s=30)
def test_health_reports_stale_and_failed_jobs(client, app):
    from datetime import timedelta

    from backend_app.extensions import db
    from backend_app.models.base import utcnow
    from backend_app.queue.enqueue import create_job

    stuck = create_job("selftest", user_id=None)
    stuck.queued_at = utcnow() - timedelta(minutes=5)
    lost = create_job("selftest", user_id=None, status="running")
    lost.heartbeat_at = utcnow() - timedelta(minutes=5)
    failed = create_job("selftest", user_id=None, status="failed")
    failed.error_code = "WORKER_LOST"
    db.session.commit()
    jobs = client.get("/health").get_json()["checks"]["jobs"]
    assert (jobs["stale_queued"], jobs["stale_running"], jobs["failed"]) == (1, 1, 1)
    assert jobs["failed_by_code"] == {"WORKER_LOST": 1} and jobs["ok"] is False


def test_the_access_log_never_carries_a_signed_links_token(client):
    import logging

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger, handler = logging.getLogger("framewise.access"), Keep(level=logging.INFO)
    logger.addHandler(handler)
    before = logger.level
    logger.setLevel(logging.INFO)
    try:
        token = "eyJrIjoidXNlcnMvdTEvc3JjIn0.c2lnbmF0dXJlLXRoYXQtZ3JhbnRzLWFjY2Vzcw"
        client.get(f"/api/v1/storage/{token}")
        client.get("/api/v1/sessions")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)
    paths = [record.path for record in records]
    assert paths == ["/api/v1/storage/<token>", "/api/v1/sessions"]
    assert not any(token in record.getMessage() or token in str(vars(record)) for record in records)
