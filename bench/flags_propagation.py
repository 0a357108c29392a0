#!/usr/bin/env python3
"""Flag propagation: how long after a rollback do gunicorn workers still serve v2?

One command: `.venv/bin/python bench/flags_propagation.py [--trials 5] [--workers 3]`.
Starts a real Redis and gunicorn (gthread, N workers) on a temp SQLite database, turns
`use_v2` on for 100 %, hammers an authenticated endpoint from threads, rolls the flag back
through the API, and measures, per trial, the time from the rollback's response until
the last request that was still served v2 *started* (0 when none did). Target (issue 7):
below 1 s in every trial. Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend_app import local_redis  # noqa: E402

TARGET_S = 1.0


def prepare(tmp: Path, redis_url: str) -> tuple[dict[str, str], str, str]:
    """Migrate a temp SQLite file, create a user and an admin; returns (env, user token, admin token)."""
    env = {
        **os.environ,
        "DATA_DIR": str(tmp / "data"),
        "SQLITE_PATH": str(tmp / "bench.db"),
        "REDIS_URL": redis_url,
        "APP_ENV": "development",
        "ACCESS_TOKEN_MINUTES": "120",
        "DATABASE_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    from flask_migrate import upgrade

    from backend_app import create_app
    from backend_app.services import accounts

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        user = accounts.register("bench-user@example.test", "correct horse battery")
        admin, _ = accounts.create_admin("bench-admin@example.test", "correct horse battery")
        tokens = accounts.issue_tokens(user)["access_token"], accounts.issue_tokens(admin)["access_token"]
    return env, *tokens


def hammer(url: str, token: str, stop_at: float, samples: list) -> None:
    with requests.Session() as session:
        while time.monotonic() < stop_at:
            started = time.monotonic()
            response = session.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            samples.append((started, response.headers.get("X-Variant")))


def trial(base: str, user: str, admin: str, threads: int) -> tuple[float, int]:
    auth = {"Authorization": f"Bearer {admin}"}
    requests.put(
        f"{base}/api/v1/flags/use_v2", headers=auth, json={"enabled": True, "rollout_percent": 100}, timeout=10
    ).raise_for_status()
    time.sleep(1.0)
    samples: list = []
    stop_at = time.monotonic() + 2.5
    pool = [
        threading.Thread(target=hammer, args=(f"{base}/api/v1/auth/me", user, stop_at, samples)) for _ in range(threads)
    ]
    for thread in pool:
        thread.start()
    time.sleep(0.5)
    requests.post(
        f"{base}/api/v1/flags/use_v2/rollback", headers=auth, json={"reason": "bench"}, timeout=10
    ).raise_for_status()
    returned = time.monotonic()
    for thread in pool:
        thread.join()
    last_v2 = max((s for s, v in samples if v == "v2"), default=returned)
    return max(0.0, last_v2 - returned), len(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fw-flags-bench-"))
    port = local_redis.free_port()
    redis_proc = local_redis.start(port, tmp / "redis", persist=False)
    gunicorn = None
    try:
        env, user, admin = prepare(tmp, f"redis://127.0.0.1:{port}/0")
        web_port = local_redis.free_port()
        gunicorn = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(args.workers),
                "--threads",
                "4",
                "--worker-class",
                "gthread",
                "--access-logfile",
                "/dev/null",
                "--bind",
                f"127.0.0.1:{web_port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{web_port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/ping", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        results = [trial(base, user, admin, args.threads) for _ in range(args.trials)]
    finally:
        if gunicorn:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        redis_proc.terminate()
    lags = [lag for lag, _ in results]
    print(
        f"gunicorn workers={args.workers}, client threads={args.threads}, trials={args.trials}, "
        f"requests per trial={statistics.median(n for _, n in results):.0f}"
    )
    print(
        f"last v2 request started after the rollback returned: median {statistics.median(lags) * 1000:.0f} ms, "
        f"max {max(lags) * 1000:.0f} ms (target < {TARGET_S * 1000:.0f} ms)"
    )
    return 0 if max(lags) < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
