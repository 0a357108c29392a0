import pytest

from .factories import auth_headers, make_user


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


def test_request_id_is_echoed(client):
    r = client.get("/ping", headers={"X-Request-ID": "abc123"})
    assert r.headers["X-Request-ID"] == "abc123"
    assert len(client.get("/ping").headers["X-Request-ID"]) == 32
