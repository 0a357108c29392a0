"""`make dev`: an edited route is served, and an edited job function run, within seconds.

The repo's code is copied to a temp dir so the edits never touch the working tree; the
copy runs `scripts/run.py --dev` with this venv's Python, like `make dev` does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from backend_app import local_redis
from tests.helpers import ROOT
from tests.launch import launch

COPY = ["backend_app", "templates", "static", "migrations", "scripts", "worker.py", "wsgi.py", "gunicorn.conf.py"]
WEB_RELOAD_S = 5.0  # issue 9: a change is live within five seconds


def _copy_repo(dest):
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            shutil.copy2(source, dest / name)


def _edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not found in {path}: the test needs updating"
    path.write_text(text.replace(old, new, 1))


def _ping(base: str) -> dict | None:
    try:
        with urllib.request.urlopen(base + "/ping", timeout=2) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None  # restarting


def _selftest(env, cwd) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi:app", "jobs", "selftest", "--wait", "30"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout[out.stdout.index("{") :])["result"]


@pytest.fixture
def dev(tmp_path):
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    _copy_repo(app_dir)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "SQLITE_"))}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        API_PORT=str(local_redis.free_port()),
        API_HOST="127.0.0.1",
        REDIS_URL=f"redis://127.0.0.1:{local_redis.free_port()}/0",
        WORKER_HEALTH_PORT=str(local_redis.free_port()),  # not 8080, which make run's tests use at once
        ANALYSERS="none",  # the dev loop's reloads are the point; models would only slow each worker start
        APP_ENV="development",
        ADMIN_PASSWORD="dev loop password",
        PYTHONUNBUFFERED="1",
    )
    started = launch([sys.executable, str(app_dir / "scripts" / "run.py"), "--dev"], env=env, cwd=app_dir)
    yield started, env, app_dir
    started.kill_group()


def test_edited_route_and_job_are_live_without_a_restart(dev):
    started, env, app_dir = dev
    base = f"http://127.0.0.1:{env['API_PORT']}"
    started.wait_for_line(f"Framewise is running at {base}", timeout_s=120)
    assert _ping(base) == {"pong": True}
    assert "edited" not in _selftest(env, app_dir)

    _edit(app_dir / "backend_app" / "api" / "ops.py", 'jsonify({"pong": True})', 'jsonify({"pong": "edited"})')
    edited_at = time.monotonic()
    while _ping(base) != {"pong": "edited"} and time.monotonic() - edited_at < 60:
        time.sleep(0.1)
    took = time.monotonic() - edited_at
    print(f"edited route live after {took:.2f} s")
    assert _ping(base) == {"pong": "edited"}, started.output()[-3000:]
    assert took < WEB_RELOAD_S, f"the edited route was live after {took:.1f} s"

    _edit(
        app_dir / "backend_app" / "jobs" / "maintenance.py",
        '"echo": (job.payload or {}).get("echo"),',
        '"echo": (job.payload or {}).get("echo"), "edited": True,',
    )
    # watchfiles stops the old worker (it may still take one job) and starts a new one.
    deadline = time.monotonic() + 90
    while (result := _selftest(env, app_dir)).get("edited") is not True and time.monotonic() < deadline:
        time.sleep(0.5)
    assert result.get("edited") is True, result
    assert started.output().count("worker starting") >= 2, "the worker was not restarted"
    assert "worker |" in started.output() and "   web |" in started.output()  # interleaved, prefixed
