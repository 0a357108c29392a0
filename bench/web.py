#!/usr/bin/env python3
"""Web pages: server time of the pages people keep open, in process (Flask test client).

One command: `.venv/bin/python bench/web.py [--requests 200]`.

The self-polling status item is requested once a second by every open page for every
running analysis, so its cost bounds how many watchers one web thread serves; the report
page renders the largest template (a long video: 300 shots, a 2,000-sample timeline chart).
Measured over N requests each, signed in with cookies as a browser is: wall-clock median and
p95, and the CPU time this process spent per request (mean), which is what a web thread pays
and is steady on a shared machine where wall time is not. Targets are on CPU ms per request:
status poll < 10, session page (20 items) < 40, report page < 80, chat/requirements < 20.
Real Redis (backend_app.local_redis) and a migrated temp SQLite; exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend_app import local_redis  # noqa: E402

PASSWORD = "bench password 1"
CPU_TARGETS_MS = {
    "status poll (htmx fragment)": 10,
    "session page (20 items)": 40,
    "report page (300 shots)": 80,
    "chat page": 20,
    "requirements page": 20,
}


def seed(user_id: str) -> dict[str, str]:
    """A session with 19 completed analyses and one running, and a long report."""
    from backend_app.extensions import db
    from backend_app.models import Analysis, Job
    from backend_app.models.base import utcnow
    from backend_app.services import sessions
    from backend_app.tenancy import Tenant

    session = sessions.create(Tenant(user_id), "Bench")
    ids = []
    for n in range(20):
        job = Job(
            kind="video_analysis",
            queue="video",
            status="running" if n == 0 else "completed",
            stage="decode",
            progress=40,
            user_id=user_id,
            session_id=session.id,
            payload={},
            timings={},
        )
        db.session.add(job)
        db.session.flush()
        analysis = Analysis(
            user_id=user_id,
            session_id=session.id,
            job_id=job.id,
            filename=f"clip{n}.mp4",
            content_type="video/mp4",
            declared_size=10_000_000,
            storage_key=f"k{n}",
            completed_at=utcnow(),
            video_metadata={"duration_s": 600.0, "width": 1920, "height": 1080, "codec": "h264"},
        )
        db.session.add(analysis)
        db.session.flush()
        analysis.storage_key = f"{analysis.prefix}source"
        ids.append(analysis.id)
    report_analysis = db.session.get(Analysis, ids[1])
    report_analysis.report = long_report()
    db.session.commit()
    return {"session": session.id, "running": ids[0], "report": ids[1]}


def long_report() -> dict:
    shots = [
        {
            "index": i,
            "start_s": i * 2.0,
            "end_s": i * 2.0 + 2.0,
            "keyframe_key": f"k/keyframes/{i}.jpg",
            "faces": i % 3,
            "qr_texts": [],
            "colors": [{"name": "red", "hex": "#c03030", "share": 0.5}],
            "brightness": 0.4,
            "motion": 0.01,
            "sharpness": 80.0,
            "labels": ["dim", "static"],
            "description": f"Shot {i}, dim.",
        }
        for i in range(300)
    ]
    timeline = [
        {"t": i * 0.3, "brightness": 0.3 + (i % 10) / 50, "motion": (i % 7) / 100, "sharpness": 50.0}
        for i in range(2000)
    ]
    return {
        "metadata": {
            "duration_s": 600.0,
            "fps": 25.0,
            "frame_count": 15000,
            "width": 1920,
            "height": 1080,
            "codec": "h264",
            "file_size": 10_000_000,
            "sha256": "ab" * 32,
        },
        "shots": shots,
        "timeline": timeline,
        "warnings": [],
        "timings": {"decode": 12.0},
        "summary": {"description": "A long video.", "shots": 300},
    }


def measure(client, url: str, count: int, headers: dict | None = None) -> tuple[float, float, float]:
    """(median wall ms, p95 wall ms, mean CPU ms) of ``count`` requests."""
    times = []
    cpu_started = time.process_time()
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    cpu_ms = (time.process_time() - cpu_started) * 1000 / count
    times.sort()
    return statistics.median(times), times[max(int(len(times) * 0.95) - 1, 0)], cpu_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fw-bench-web-"))
    port = local_redis.free_port()
    redis_proc = local_redis.start(port, tmp / "redis", persist=False)
    os.environ.update(
        {
            "DATA_DIR": str(tmp / "data"),
            "SQLITE_PATH": str(tmp / "bench.db"),
            "DATABASE_URL": "",
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "APP_ENV": "development",
            "LOG_LEVEL": "WARNING",
        }
    )
    from flask_migrate import upgrade

    from backend_app import create_app
    from backend_app.services import accounts

    app = create_app()
    results = {}
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            user = accounts.register("bench@example.test", PASSWORD)
            ids = seed(user.id)
        client = app.test_client()
        gc.collect()  # as gunicorn.conf.py's post_worker_init does in every web worker
        gc.freeze()
        form = client.get("/login").get_data(as_text=True)  # the form's CSRF token goes with its cookie
        token = re.search(r'name="csrf_token" value="([^"]*)"', form).group(1)
        assert (
            client.post(
                "/login", data={"email": "bench@example.test", "password": PASSWORD, "csrf_token": token}
            ).status_code
            == 303
        )
        pages = {
            "status poll (htmx fragment)": (f"/analyses/{ids['running']}/status", {"HX-Request": "true"}),
            "session page (20 items)": (f"/sessions/{ids['session']}", None),
            "report page (300 shots)": (f"/analyses/{ids['report']}", None),
            "chat page": ("/chat", None),
            "requirements page": ("/requirements", None),
        }
        for name, (url, headers) in pages.items():
            measure(client, url, 5, headers)  # warm templates and caches
            results[name] = measure(client, url, args.requests, headers)
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'page':<30} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>8} {'target':>8}")
    failed = False
    for name, (median, p95, cpu) in results.items():
        ok = cpu < CPU_TARGETS_MS[name]
        failed |= not ok
        print(
            f"{name:<30} {median:10.1f} {p95:8.1f} {cpu:8.1f} {'< ' + str(CPU_TARGETS_MS[name]):>8} "
            f"{'ok' if ok else 'MISSED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
