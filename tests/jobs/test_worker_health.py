"""The worker's own health endpoint (jobs/health.py) and the ids on every log line of a job.

Real `python worker.py` processes on a free port each (the suite's other workers run without
one: WORKER_HEALTH_PORT=0), on SQLite and on PostgreSQL; a real video through the API for the logs.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
import requests

from backend_app import local_redis
from backend_app.extensions import QUEUE_NAMES, db
from backend_app.models import Analysis, Job
from backend_app.observability import JsonFormatter
from backend_app.queue.enqueue import submit
from tests.factories import auth_headers, make_user
from tests.helpers import wait_until
from tests.jobs import kinds  # noqa: F401  (registers the test-only kinds in this process)
from tests.jobs.kinds import FAST
from tests.media import make_clip
from tests.uploading import make_session, upload_video


def _get(port: int, path: str) -> tuple[int, dict]:
    response = requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)
    return response.status_code, response.json()


def _answering(port: int, path: str = "/live"):
    def probe():
        try:
            return _get(port, path)
        except requests.ConnectionError:
            return None

    return probe


@pytest.mark.settings(**FAST)
def test_live_and_ready_report_queues_the_current_job_and_the_heartbeat(app, start_worker, tmp_path):
    port = local_redis.free_port()
    start_worker(1, {"WORKER_HEALTH_PORT": str(port)})
    status, live = wait_until(_answering(port), message="the worker's /live")
    assert status == 200 and live["status"] == "alive"
    assert live["queues"] == list(QUEUE_NAMES) and live["current_job"] is None and live["state"] == "idle"
    assert live["last_heartbeat"]  # RQ's heartbeat in the parent, sent when the worker registered
    status, ready = _get(port, "/ready")
    assert status == 200 and ready["status"] == "ready", ready
    assert ready["checks"]["redis"]["ok"] and ready["checks"]["database"]["ok"]

    user = make_user()
    job = submit("test_sleepy", user_id=user.id, payload={"seconds": 3, "batch_id": "b" * 32})

    def busy():
        body = _get(port, "/live")[1]
        return body if body["current_job"] else None

    running = wait_until(busy, message="the job in /live")
    assert running["state"] == "busy"
    current = running["current_job"]
    assert current["id"] == job.id and current["kind"] == "test_sleepy" and current["queue"] == "default"
    assert current["user_id"] == user.id and current["batch_id"] == "b" * 32 and current["started_at"]
    assert _get(port, "/ready")[0] == 200  # ready while it works: the probes do not wait for the job
    wait_until(lambda: _get(port, "/live")[1]["current_job"] is None, message="the job to end in /live")
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "completed"
    assert _get(port, "/nothing")[0] == 404


@pytest.mark.settings(**FAST)
def test_ready_is_503_with_the_reason_when_redis_is_unreachable(app, start_worker):
    port = local_redis.free_port()
    dead_redis = f"redis://127.0.0.1:{local_redis.free_port()}/0"
    start_worker(1, {"WORKER_HEALTH_PORT": str(port), "REDIS_URL": dead_redis}, wait=False)
    status, live = wait_until(_answering(port), message="the worker's /live")
    assert status == 200  # the process is alive: it waits for Redis to come back
    status, ready = _get(port, "/ready")
    assert status == 503 and ready["status"] == "not ready"
    assert ready["checks"]["redis"]["ok"] is False and "Connection" in ready["checks"]["redis"]["error"]
    assert ready["checks"]["database"]["ok"] is True


@pytest.mark.sqlite_only
@pytest.mark.settings(**FAST)
def test_a_taken_health_port_is_said_and_the_worker_still_works(app, start_worker):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        (proc,) = start_worker(1, {"WORKER_HEALTH_PORT": str(port), "LOG_LEVEL": "INFO"})
        job = submit("test_sleepy", user_id=None, payload={"seconds": 0.1})
        wait_until(lambda: db.session.get(Job, job.id).status == "completed" or db.session.expire_all())
    proc.terminate()
    proc.wait(timeout=30)
    lines = proc.log_path.read_text()
    assert f"127.0.0.1:{port} is not free" in lines and "WORKER_HEALTH_PORT" in lines


def _capture_app_logs():
    """The app's JSON lines of this process (what gunicorn's stderr would carry), at INFO."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel("INFO")
    return stream, lambda: (root.removeHandler(handler), root.setLevel(level))


@pytest.mark.settings(**FAST)
def test_every_line_of_a_job_and_of_its_requests_names_analysis_user_and_session(app, client, start_worker, tmp_path):
    (proc,) = start_worker(1, {"LOG_LEVEL": "INFO"})
    user = make_user()
    headers = auth_headers(client, user)
    stream, stop = _capture_app_logs()
    try:
        session_id = make_session(client, headers)
        video = make_clip(tmp_path / "clip.mp4", seconds=2, cuts=[1])
        analysis_id = upload_video(client, headers, session_id, video)["analysis_id"]
        job_id = db.session.get(Analysis, analysis_id).job_id
        wait_until(
            lambda: db.session.get(Job, job_id).is_finished or db.session.expire_all(),
            timeout_s=60,
            message="the analysis to finish",
        )
        report = client.get(f"/api/v1/analyses/{analysis_id}/report", headers=headers)
        assert report.status_code == 200
    finally:
        stop()
    assert db.session.get(Job, job_id).status == "completed"

    requests_ = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [r for r in requests_ if r["logger"] == "framewise.access"]
    assert len(access) >= 5  # session, init, PUT, complete, report
    for record in access:
        assert record["user_id"] == user.id, record  # the signed PUT too: its link names whose file it is
    naming = [r for r in access if r["path"] != "/api/v1/sessions"]
    assert {r["path"] for r in naming} >= {
        "/api/v1/uploads/init",
        "/api/v1/storage/<token>",
        "/api/v1/uploads/complete",
    }
    for record in naming:
        assert record["analysis_id"] == analysis_id, record
    assert [r for r in naming if r["path"] == "/api/v1/uploads/init"][0]["session_id"] == session_id

    proc.terminate()
    proc.wait(timeout=30)
    worker_lines = [json.loads(line) for line in proc.log_path.read_text().splitlines()]
    of_job = [r for r in worker_lines if r.get("job_id") == job_id]
    loggers = {r["logger"] for r in of_job}
    assert {"backend_app.jobs.runner", "rq.worker"} <= loggers, loggers  # the horse's lines and RQ's
    assert len(of_job) >= 4, of_job
    for record in of_job:
        assert record["analysis_id"] == analysis_id, record
        assert record["user_id"] == user.id and record["session_id"] == session_id, record
    # lines of the worker's own life (not of a job) carry no job's ids
    assert not [r for r in worker_lines if r.get("analysis_id") and r.get("job_id") != job_id]
