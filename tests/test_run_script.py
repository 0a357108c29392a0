"""`make run` end to end: scripts/run.py starts Redis, worker and gunicorn; Ctrl-C stops them all."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from backend_app import local_redis
from tests.helpers import ROOT
from tests.launch import descendants, launch


def _run_env(tmp_path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "SQLITE_"))}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        API_HOST="127.0.0.1",
        API_PORT=str(local_redis.free_port()),
        REDIS_URL=f"redis://127.0.0.1:{local_redis.free_port()}/0",
        # its own health port: two of these tests on two test processes both took 8080, and one read
        # the other's worker there
        WORKER_HEALTH_PORT=str(local_redis.free_port()),
        ANALYSERS="none",  # these tests are about the processes; the analysers' models have their own
        APP_ENV="development",
        ADMIN_EMAIL="owner@example.test",
        ADMIN_PASSWORD="",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


def _get_json(url: str, token: str | None = None, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


OLD_BUILT_IN_SECRET = "dev-insecure-default-secret-change-me-in-production"


def _secrets_are_generated_and_the_old_built_in_one_signs_nothing(base: str, env: dict, output: str) -> str:
    """Issue 26: with the old built-in secret, an HS256 token carrying the admin's id got 200 on
    /api/v1/flags and a forged storage link was honoured. Returns the admin's genuine token."""
    import stat

    import jwt as pyjwt

    from backend_app.adapters.storage import sign_token

    path = Path(env["DATA_DIR"]) / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    password = re.search(r"password:\s+(\S+)\s+\(shown once", output).group(1)
    status, body = _get_json(
        base + "/api/v1/auth/login", method="POST", body={"email": env["ADMIN_EMAIL"], "password": password}
    )
    assert status == 200, body
    token = body["access_token"]
    assert _get_json(base + "/api/v1/flags", token)[0] == 200
    claims = pyjwt.decode(token, stored["JWT_SECRET_KEY"], algorithms=["HS256"])  # signed with the file's secret
    forged = pyjwt.encode(claims, OLD_BUILT_IN_SECRET, algorithm="HS256")
    status, body = _get_json(base + "/api/v1/flags", forged)
    assert status == 401, body

    link = {"k": "users/someone/video.mp4", "m": "GET"}
    status, body = _get_json(base + "/api/v1/storage/" + sign_token(OLD_BUILT_IN_SECRET, link, 600))
    assert body["error"]["code"] == "SIGNATURE_INVALID", (status, body)
    status, body = _get_json(base + "/api/v1/storage/" + sign_token(stored["SECRET_KEY"], link, 600))
    assert body["error"]["code"] == "OBJECT_NOT_FOUND", (status, body)  # the genuine signature is accepted
    return token


@pytest.fixture
def running(tmp_path):
    env = _run_env(tmp_path)
    started = launch([sys.executable, str(ROOT / "scripts" / "run.py")], env=env, cwd=ROOT)
    yield started, env
    started.kill_group()


def test_make_run_serves_health_runs_a_job_and_stops_everything_on_ctrl_c(running):
    started, env = running
    base = f"http://127.0.0.1:{env['API_PORT']}"
    started.wait_for_line(f"Framewise is running at {base}", timeout_s=120)
    output = started.output()
    assert "admin login: owner@example.test" in output
    assert "password:" in output and "shown once" in output  # generated on first start, printed once

    status, report = _get_json(base + "/health")
    assert status == 200 and report["status"] == "healthy", report
    assert report["checks"]["workers"]["alive"] == 1
    token = _secrets_are_generated_and_the_old_built_in_one_signs_nothing(base, env, output)

    # Two gunicorn workers, one /metrics: the counters are shared, whichever worker answers.
    for _ in range(12):
        assert _get_json(base + "/api/v1/simple-health")[0] == 200
    metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("framewise_http_requests_total{") and 'endpoint="/api/v1/simple-health"' in line
    ]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in counted) == 12, counted

    selftest = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi:app", "jobs", "selftest", "--wait", "60"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    row = json.loads(selftest.stdout[selftest.stdout.index("{") :])
    assert row["status"] == "completed" and row["result"]["echo"] == "cli"

    children = descendants(started.proc.pid)
    names = " ".join(" ".join(p.cmdline()) for p in children)
    assert "redis-server" in names and "worker.py" in names and "gunicorn" in names
    os.killpg(started.proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: SIGINT to the foreground group
    assert started.proc.wait(timeout=90) == 0, started.output()[-2000:]
    gone, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, f"left running after Ctrl-C: {[' '.join(p.cmdline()) for p in alive]}"
    assert not local_redis.port_in_use(int(env["API_PORT"]))
    # Every line the web server wrote, gunicorn's own included, is one JSON object.
    web_lines = [line.split(" | ", 1)[1] for line in started.output().splitlines() if line.startswith("   web | ")]
    assert any('"logger": "gunicorn.error"' in line for line in web_lines), web_lines[:5]
    records = [json.loads(line) for line in web_lines]
    for record in records:
        assert isinstance(record, dict), record
    # One access line per request, the app's (with its request id): gunicorn's own access log
    # (which any logging config switches on) would repeat each one.
    assert not [r for r in records if r.get("logger") == "gunicorn.access"], web_lines[-3:]
    assert (
        len([r for r in records if r.get("logger") == "framewise.access" and r.get("path") == "/api/v1/simple-health"])
        == 12
    )

    # A second start keeps the data: no new admin password, same database.
    again = launch([sys.executable, str(ROOT / "scripts" / "run.py")], env=env, cwd=ROOT)
    try:
        again.wait_for_line(f"Framewise is running at {base}", timeout_s=120)
        assert "shown once" not in again.output() and "as created on first start" in again.output()
        assert _get_json(base + "/health")[0] == 200
        assert _get_json(base + "/api/v1/flags", token)[0] == 200  # same secrets: the sign-in outlives a restart
        os.killpg(again.proc.pid, signal.SIGINT)
        assert again.proc.wait(timeout=90) == 0
    finally:
        again.kill_group()


def test_a_taken_port_or_a_bad_setting_stops_make_run_with_one_line_and_no_banner(tmp_path):
    """A second `make run` on a taken port printed the banner (the other instance answered its
    health check) and then lost its gunicorn; a bad setting printed a traceback."""
    import socket

    env = _run_env(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", int(env["API_PORT"])))
        taken.listen()
        out = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "run.py")],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert out.returncode == 1
    assert f"port {env['API_PORT']} is already in use" in out.stderr
    from urllib.parse import urlparse

    assert "Framewise is running" not in out.stdout
    assert not local_redis.port_in_use(urlparse(env["REDIS_URL"]).port)  # nothing was started
    bad = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PURGE_RETENTION_H": "0"},
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == "Framewise cannot start: PURGE_RETENTION_H must be above 0"
    weak = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "ADMIN_PASSWORD": "admin1234"},
    )
    assert weak.returncode == 2 and "Traceback" not in weak.stderr, weak.stderr[-2000:]
    assert weak.stderr.strip().endswith(
        "Framewise cannot start: Some fields are missing or invalid. "
        "ADMIN_PASSWORD is one of the most common passwords; choose another"
    )
    assert not local_redis.port_in_use(urlparse(env["REDIS_URL"]).port)  # the embedded Redis was stopped


@pytest.mark.parametrize("provider", ["offline", "openai"])
def test_each_web_worker_imports_the_openai_sdk_at_start_only_when_a_model_is_called(tmp_path, provider):
    """gunicorn's post_worker_init hook (gunicorn.conf.py), run as gunicorn runs it: after the
    worker has loaded wsgi:app."""
    script = f"""
import importlib.util, sys, types
spec = importlib.util.spec_from_file_location("gunicorn_conf", {str(ROOT / "gunicorn.conf.py")!r})
conf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conf)
from backend_app import create_app
app = create_app({{"ai_provider": {provider!r}, "openai_api_key": "test", "data_dir": {str(tmp_path)!r},
                  "sqlite_path": {str(tmp_path / "x.db")!r}, "database_url": ""}})
before = "openai" in sys.modules
conf.post_worker_init(types.SimpleNamespace(wsgi=app))
print(before, "openai" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["False", str(provider == "openai")]


def test_make_run_restarts_a_killed_worker_and_says_so(running):
    """The original `make run` stopped everything when one process exited; a killed worker now
    comes back (with its health endpoint) and jobs run again, while web and Redis stay up."""
    started, env = running
    base = f"http://127.0.0.1:{env['API_PORT']}"
    started.wait_for_line(f"Framewise is running at {base}", timeout_s=120)
    health = re.search(r"worker health: (http://\S+/ready)", started.output()).group(1)

    def live():
        try:
            return json.loads(urllib.request.urlopen(health.replace("/ready", "/live"), timeout=2).read())
        except OSError:  # the worker is still starting (or restarting): its endpoint is not up yet
            return None

    from tests.helpers import wait_until

    first = wait_until(live, timeout_s=60)

    (worker,) = [p for p in psutil.Process(started.proc.pid).children() if "worker.py" in " ".join(p.cmdline())]
    assert worker.pid == first["pid"]
    os.kill(worker.pid, signal.SIGKILL)
    at = started.wait_for_line("worker exited with code -9; restarting it in 1 s (restart 1)", timeout_s=30)
    started.wait_for_line("worker restarted (pid", timeout_s=30, after=at)
    again = wait_until(lambda: (body := live()) and body["pid"] != first["pid"] and body, timeout_s=60)
    assert again["worker"] != first["worker"]
    selftest = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi:app", "jobs", "selftest", "--wait", "60"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr  # the new worker runs jobs
    assert _get_json(base + "/ping")[0] == 200 and started.proc.poll() is None
    assert "stopping the rest" not in started.output()
    os.killpg(started.proc.pid, signal.SIGINT)
    assert started.proc.wait(timeout=90) == 0, started.output()[-2000:]


def test_a_worker_that_keeps_exiting_waits_longer_each_time_until_it_stays_up():
    sys.path.insert(0, str(ROOT / "scripts"))
    from run import Restarts

    restarts = Restarts()
    restarts.started = 0.0
    pauses = [restarts.next_pause(now=float(i)) for i in range(7)]  # each run lasts about a second
    assert pauses == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0] and restarts.count == 7
    restarts.started = 100.0
    assert restarts.next_pause(now=100.0 + Restarts.STABLE_AFTER_S) == 1.0  # it ran a minute: start over
