#!/usr/bin/env python3
"""Fair scheduling: user A queues 30 clips, user B then queues 1; how long does B's job wait?

`python bench/fairness.py` (defaults: 30 clips for A, 1 `python worker.py`, USER_JOB_SLOTS=1;
`--backlog N --workers W --slots S` to vary, `--slots 0` shows the old first-in-first-out
queue). Everything is real and private to the run: its own redis-server, a fresh SQLite
database, local storage, short real clips uploaded through the uploads API (init → signed
PUT → complete). A's quota is raised by the admin service first (30 jobs at once is over the
default). B uploads once A's first job is running. Prints B's wait (from B's complete to its
job's start) against one job's length in the same run (a worker's cycle: the median interval
between starts of A's jobs times the number of workers, i.e. a run plus the worker's pick-up),
and how many of A's jobs started while B waited. Passes when B's wait is
at most one job's length; exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _prepare(workdir: Path, redis_url: str, slots: int):
    from flask_migrate import upgrade

    from backend_app import create_app
    from backend_app.extensions import db

    app = create_app(
        {
            "app_env": "test",
            "sqlite_path": str(workdir / "fairness.db"),
            "data_dir": str(workdir / "data"),
            "redis_url": redis_url,
            "log_level": "WARNING",
            "worker_health_port": 0,  # several workers on one host: none serves the health endpoint
            "login_rate_limit": "100000 per minute",
            "user_job_slots": slots,
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    return app


def _rows(ids: list[str]):
    from backend_app.extensions import db
    from backend_app.models import Job

    db.session.expire_all()
    return [db.session.get(Job, i) for i in ids]


def _wait(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise SystemExit(f"timed out after {timeout_s:g} s waiting for {what}")


def run(backlog: int = 30, workers: int = 1, slots: int = 1, log=print) -> dict:
    """Run the scenario; returns B's wait, one job's length and the verdict."""
    from backend_app import local_redis
    from backend_app.extensions import db
    from backend_app.models import Analysis
    from backend_app.models.base import utcnow
    from backend_app.services import quotas
    from tests.factories import auth_headers, make_user
    from tests.helpers import env_for
    from tests.media import make_clip
    from tests.uploading import make_session, upload_video

    workdir = Path(tempfile.mkdtemp(prefix="fw-fair-"))
    port = local_redis.free_port()
    redis = local_redis.start(port, workdir / "redis", persist=False)
    procs: list[subprocess.Popen] = []
    try:
        app = _prepare(workdir, f"redis://127.0.0.1:{port}/0", slots)
        clip = make_clip(workdir / "clip.mp4", seconds=2.0, fps=15, size=(160, 96), cuts=(0.7, 1.4)).read_bytes()
        env = {**os.environ, **env_for(app)}
        for _ in range(workers):
            out = open(workdir / f"worker-{len(procs)}.log", "ab")
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(ROOT / "worker.py")],
                    env=env,
                    cwd=ROOT,
                    stdout=out,
                    stderr=out,
                    start_new_session=True,
                )
            )
        client = app.test_client()
        with app.app_context():
            a, b = make_user(email="a@fair.test"), make_user(email="b@fair.test")
            quotas.set_limits(a.id, {"concurrent_jobs": backlog + 5, "uploads_per_hour": backlog + 5})
            a_headers, b_headers = auth_headers(client, a), auth_headers(client, b)
            a_session, b_session = make_session(client, a_headers), make_session(client, b_headers)
            t0 = time.monotonic()
            a_jobs = []
            for _ in range(backlog):
                done = upload_video(client, a_headers, a_session, clip)
                a_jobs.append(db.session.get(Analysis, done["analysis_id"]).job_id)
            log(f"A queued {backlog} clips in {time.monotonic() - t0:.1f} s")
            _wait(lambda: any(r.status == "running" for r in _rows(a_jobs)), 120, "A's first job to start")
            b_queued = utcnow()
            done = upload_video(client, b_headers, b_session, clip)
            b_job = db.session.get(Analysis, done["analysis_id"]).job_id
            log("B queued 1 clip")
            b_row = _wait(lambda: (r := _rows([b_job])[0]).status == "completed" and r, 600, "B's job")
            _wait(lambda: sum(r.status == "completed" for r in _rows(a_jobs)) >= 5, 600, "five of A's jobs")
            a_rows = [r for r in _rows(a_jobs) if r.started_at]
            starts = sorted(r.started_at for r in a_rows)
            cycles = [(later - earlier).total_seconds() for earlier, later in zip(starts, starts[1:], strict=False)]
            runs = [(r.finished_at - r.started_at).total_seconds() for r in a_rows if r.finished_at]
            b_wait = (b_row.started_at - b_queued).total_seconds()
            one_job = statistics.median(cycles) * workers  # each worker's cycle: a run plus its pick-up
            return {
                "backlog": backlog,
                "workers": workers,
                "slots": slots,
                "b_wait_s": round(b_wait, 2),
                "one_job_s": round(one_job, 2),
                "one_job_max_s": round(max(cycles), 2),
                "run_median_s": round(statistics.median(runs), 2),
                "a_started_while_b_waited": sum(b_queued < s < b_row.started_at for s in starts),
                "passed": b_wait <= one_job,
            }
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        redis.terminate()
        redis.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=30, help="clips user A queues first")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--slots", type=int, default=1, help="USER_JOB_SLOTS (0: no per-user limit, plain FIFO)")
    args = parser.parse_args(argv)
    print(f"fairness run: A queues {args.backlog} clips, then B 1; {args.workers} worker(s), slots {args.slots}")
    result = run(args.backlog, args.workers, args.slots, log=lambda m: print(m, flush=True))
    print(
        f"B waited {result['b_wait_s']:.2f} s; one job takes {result['one_job_s']:.2f} s "
        f"(a worker's cycle: median start-to-start of A's jobs x workers; longest start-to-start "
        f"{result['one_job_max_s']:.2f} s; median run without pick-up {result['run_median_s']:.2f} s)"
    )
    print(f"A's jobs started while B waited: {result['a_started_while_b_waited']}")
    print("PASS: B started within one job's length" if result["passed"] else "FAIL: B waited longer than one job")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
