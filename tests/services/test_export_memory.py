"""A 200 MB export streams: the serving process's memory does not grow with the archive.

Real gunicorn (as `make run` serves, one worker), real HTTP client that reads and discards;
the worker's RSS is sampled while the download runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import psutil
import pytest
import requests

from backend_app import local_redis
from backend_app.adapters.storage import get_storage
from tests.factories import auth_headers, make_user
from tests.helpers import ROOT, env_for, wait_until

pytestmark = [pytest.mark.sqlite_only, pytest.mark.timeout(600)]

MB = 1 << 20
EXPORT_MB = 200
GROWTH_LIMIT_MB = 50


def _fill(user_id: str, total_mb: int, parts: int = 4) -> int:
    """Write incompressible objects under the user's storage prefix, straight to the backend."""
    storage = get_storage()
    for part in range(parts):
        path = storage.path_for(f"users/{user_id}/bulk/part-{part}.bin")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            for _ in range(total_mb // parts):
                handle.write(os.urandom(MB))
    return total_mb * MB


@pytest.fixture
def served(app, tmp_path):
    port = local_redis.free_port()
    env = {**os.environ, **env_for(app), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "wsgi:app",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "web.log", "wb"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(base + "/ping", timeout=2).ok
        except requests.RequestException:
            return False

    try:
        wait_until(up, timeout_s=60, message="gunicorn to answer")
        worker = psutil.Process(proc.pid).children()[0]
        yield base, worker
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _download(base: str, headers: dict) -> int:
    received = 0
    with requests.get(base + "/api/v1/me/export", headers=headers, stream=True, timeout=120) as response:
        assert response.status_code == 200, response.text[:300]
        for chunk in response.iter_content(MB):
            received += len(chunk)
    return received


def test_200_mb_export_does_not_grow_the_web_process_by_more_than_50_mb(app, client, served):
    base, worker = served
    small, big = make_user(), make_user()
    _fill(small.id, 8, parts=2)
    size = _fill(big.id, EXPORT_MB)
    _download(base, auth_headers(client, small))  # warm-up: imports, pools, zlib
    baseline = worker.memory_info().rss
    peak = [baseline]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], worker.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        received = _download(base, auth_headers(client, big))
    finally:
        done.set()
        sampler.join()
    assert received >= size  # random bytes do not compress: the archive is at least as large
    growth_mb = (peak[0] - baseline) / MB
    print(f"export of {received / MB:.0f} MB: web worker RSS {baseline / MB:.0f} MB -> peak {peak[0] / MB:.0f} MB")
    assert growth_mb < GROWTH_LIMIT_MB, f"the web process grew by {growth_mb:.0f} MB while streaming"
