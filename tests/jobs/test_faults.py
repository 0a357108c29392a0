"""Faults with real processes: Redis down at submit, workers and work horses SIGKILLed,
hard time limits, retry-then-fail with backoff. Real Redis, real `python worker.py`."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from redis import Redis
from rq.job import Job as RQJob

from backend_app import local_redis
from backend_app.extensions import db, redis_store
from backend_app.jobs.workers import RepeatedTimeLimit
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.queue.enqueue import submit
from tests.helpers import wait_until
from tests.jobs import kinds  # noqa: F401  (registers the test-only kinds in this process)
from tests.jobs.kinds import FAST
from tests.jobs.procs import children, kill_horse, kill_tree

pytestmark = [pytest.mark.sqlite_only, pytest.mark.settings(**FAST)]


def row(job_id: str) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def finished(job_id: str, timeout_s: float = 60) -> Job:
    return wait_until(
        lambda: (r := row(job_id)).is_finished and r, timeout_s=timeout_s, message=f"job {job_id} to finish"
    )


def markers(directory: Path, what: str) -> list[Path]:
    return sorted(directory.glob(f"{what}-*")) if directory.exists() else []


@pytest.fixture
def dedicated_redis(app, tmp_path):
    """A Redis of this test's own (the shared one must survive): the app and its workers use it."""
    port = local_redis.free_port()
    data = tmp_path / "redis"
    server = {"port": port, "proc": local_redis.start(port, data, persist=False)}
    url = f"redis://127.0.0.1:{port}/0"
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(redis_url=url)
    app.extensions["redis"] = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=5.0)

    def stop():
        server["proc"].terminate()
        server["proc"].wait(timeout=10)

    def start():
        server["proc"] = local_redis.start(port, data, persist=False)

    server.update(stop=stop, start=start)
    yield server
    if server["proc"].poll() is None:
        stop()


def test_enqueue_fails_with_redis_down_then_reconciler_enqueues_it(app, dedicated_redis, start_worker, tmp_path):
    dedicated_redis["stop"]()
    job = submit("test_sleepy", user_id=None, payload={"seconds": 0.2, "marker_dir": str(tmp_path / "m")})
    stuck = row(job.id)
    assert stuck.status == "queued" and stuck.enqueued_at is None
    assert stuck.enqueue_attempts == app.config["SETTINGS"].enqueue_retries
    assert "ConnectionError" in stuck.enqueue_last_error
    tries = stuck.enqueue_attempts

    dedicated_redis["start"]()  # an empty Redis: the job was never in it
    start_worker(1)  # its scheduler runs the reconciler within seconds
    done = finished(job.id)
    assert done.status == "completed", done.to_dict()
    assert done.attempts == 1 and done.enqueue_attempts == tries + 1
    assert done.enqueue_last_error is None
    assert len(markers(tmp_path / "m", "done")) == 1


def test_a_busy_worker_outlives_a_redis_outage_and_serves_the_queues_again(
    app, dedicated_redis, start_worker, tmp_path
):
    """Redis gone for longer than one heartbeat while a job runs ended RQ's loop, and with it the
    worker process: nothing served the queues again until someone restarted it."""
    first = start_worker(1)[0]
    job = submit("test_sleepy", user_id=None, payload={"seconds": 6, "marker_dir": str(tmp_path / "m")})
    wait_until(lambda: row(job.id).status == "running" and row(job.id).progress > 0, message="job running")
    dedicated_redis["stop"]()
    time.sleep(4)  # four heartbeats (JOB_HEARTBEAT_S=1)
    dedicated_redis["start"]()  # empty: the running job's RQ state is gone too
    assert finished(job.id).status == "completed"
    later = submit("test_sleepy", user_id=None, payload={"seconds": 0.2, "marker_dir": str(tmp_path / "later")})
    assert finished(later.id, timeout_s=90).status == "completed"
    assert first.poll() is None, "the worker process ended with the outage"


def test_worker_sigkilled_mid_job_is_recovered_and_completes_once(app, start_worker, tmp_path):
    first = start_worker(1)[0]
    job = submit("test_sleepy", user_id=None, payload={"seconds": 4, "marker_dir": str(tmp_path / "m")})
    wait_until(lambda: row(job.id).status == "running" and row(job.id).progress > 0, message="job running")
    assert children(first.pid), "the worker should have forked a work horse"
    kill_tree(first.pid)

    start_worker(1)  # the replacement's reconciler finds the silent row and re-queues it
    done = finished(job.id, timeout_s=90)
    assert done.status == "completed", done.to_dict()
    assert done.attempts == 2  # the lost attempt counts
    assert len(markers(tmp_path / "m", "start")) == 2
    assert len(markers(tmp_path / "m", "done")) == 1  # completed exactly once


def test_work_horse_killed_is_requeued_by_its_worker_and_retried(app, worker, tmp_path):
    job = submit("test_sleepy", user_id=None, payload={"seconds": 3, "marker_dir": str(tmp_path / "m")})
    running = wait_until(lambda: (r := row(job.id)).status == "running" and r.progress > 0 and r, message="job running")
    assert kill_horse(running) != worker.pid
    done = finished(job.id)
    assert done.status == "completed", done.to_dict()
    assert done.attempts == 2 and worker.poll() is None
    assert len(markers(tmp_path / "m", "done")) == 1


def test_hard_time_limit_fails_the_job_with_job_timeout(app, worker):
    job = submit("test_hang", user_id=None, payload={"seconds": 60})
    done = finished(job.id)
    assert (done.status, done.error_code, done.attempts) == ("failed", "JOB_TIMEOUT", 1), done.to_dict()
    time.sleep(2)  # a timeout is not retried
    assert row(job.id).attempts == 1


def test_a_time_limit_swallowed_by_the_handler_is_raised_again_until_the_run_stops(app, worker, tmp_path):
    # RQ raises the limit once; code that isolates a failure with `except Exception` caught it and
    # the run went on (RQ's own kill comes 60 s later). The worker raises it again every 5 s.
    job = submit("test_swallow", user_id=None, payload={"seconds": 30, "marker_dir": str(tmp_path / "m")})
    done = finished(job.id)
    assert (done.status, done.error_code) == ("failed", "JOB_TIMEOUT"), done.to_dict()
    assert markers(tmp_path / "m", "swallowed") and not markers(tmp_path / "m", "done")
    ran_s = (done.finished_at - done.started_at).total_seconds()
    assert ran_s < 2 + 2 * RepeatedTimeLimit.REPEAT_S, f"the run went on for {ran_s:.1f} s"
    assert worker.poll() is None


def test_horse_killed_at_the_limit_from_outside_fails_with_job_timeout(app, worker):
    # The handler ignores SIGALRM (a C call that never returns); RQ then kills the horse from the
    # worker. We play that kill ourselves once the limit has passed (RQ waits 60 s more).
    job = submit("test_hang", user_id=None, payload={"seconds": 60, "ignore_alarm": True})
    running = wait_until(lambda: (r := row(job.id)).status == "running" and r, message="job running")
    time.sleep(max(0.0, 2.5 - (time.time() - running.started_at.timestamp())))
    assert kill_horse(running) != worker.pid
    done = finished(job.id)
    assert (done.status, done.error_code) == ("failed", "JOB_TIMEOUT"), done.to_dict()
    # RQ is told the row will not run again: no retry of its own that the runner would only skip
    # ("job is not runnable"), which is how a timed-out batch used to end without resuming.
    time.sleep(2.5)  # past the retry's backoff
    assert RQJob.fetch(job.id, connection=redis_store.conn).get_status() == "failed"
    assert row(job.id).attempts == 1


def test_retryable_failure_is_retried_with_backoff_then_fails(app, worker, tmp_path):
    job = submit("test_flaky", user_id=None, payload={"marker_dir": str(tmp_path / "m")})
    between = wait_until(
        lambda: (r := row(job.id)).status == "queued" and r.attempts == 1 and r,
        timeout_s=30,
        interval_s=0.05,
        message="row queued between attempts",
    )
    assert between.error_code == "AI_PROVIDER_FAILED"
    done = finished(job.id)
    assert (done.status, done.error_code, done.attempts) == ("failed", "AI_PROVIDER_FAILED", 3), done.to_dict()
    starts = [float(p.read_text()) for p in markers(tmp_path / "m", "start")]
    starts.sort()
    assert len(starts) == 3
    # Backoff 1 s, then 2 s. RQ keeps a retry's due time in whole seconds (ScheduledJobRegistry
    # scores are truncated), so an attempt may start up to 1 s before "failure + interval" but
    # never before that whole second; each failure comes after its attempt's start.
    assert starts[1] >= math.floor(starts[0] + 1) and starts[2] >= math.floor(starts[1] + 2), starts


def test_retryable_failure_then_success(app, worker):
    job = submit("test_flaky", user_id=None, payload={"succeed_on": 2})
    done = finished(job.id)
    assert (done.status, done.attempts, done.error_code) == ("completed", 2, None), done.to_dict()


def test_non_retryable_failure_fails_at_once(app, worker):
    job = submit("test_broken", user_id=None)
    done = finished(job.id)
    assert (done.status, done.error_code, done.attempts) == ("failed", "VIDEO_UNREADABLE", 1)
    time.sleep(1.5)
    assert row(job.id).attempts == 1


def test_rq_abandoned_job_cleanup_runs_our_failure_callback(app, start_worker, tmp_path):
    # RQ's own recovery: its maintenance finds the dead worker's job in the StartedJobRegistry,
    # calls the job's on_failure callback (ours: the row goes back to queued) and retries it.
    from rq.registry import StartedJobRegistry

    from backend_app.extensions import get_queue

    first = start_worker(1)[0]
    job = submit("test_sleepy", user_id=None, payload={"seconds": 30, "marker_dir": str(tmp_path / "m")})
    wait_until(lambda: row(job.id).status == "running" and row(job.id).progress > 0, message="job running")
    kill_tree(first.pid)
    StartedJobRegistry("default", connection=redis_store.conn).cleanup(timestamp=time.time() + 10**6)
    requeued = row(job.id)
    assert (requeued.status, requeued.error_code, requeued.attempts) == ("queued", "WORKER_LOST", 1)
    assert job.id in get_queue("default").scheduled_job_registry  # RQ's retry, after the backoff


def test_a_superseded_run_stops_and_writes_nothing(app, worker, tmp_path):
    # The reconciler declared this run lost and a new run took the row: the old one must not
    # finish it (no second completion, no outputs), it stops at its next progress report.
    job = submit("test_sleepy", user_id=None, payload={"seconds": 3, "marker_dir": str(tmp_path / "m")})
    running = wait_until(lambda: (r := row(job.id)).status == "running" and r.progress > 0 and r, message="running")
    db.session.query(Job).filter(Job.id == job.id).update(
        {Job.attempts: running.attempts + 1, Job.worker_name: "new-run:1"}, synchronize_session=False
    )
    db.session.commit()
    # The new run is alive: it beats, as a real one does; without that the reconciler (lost after
    # 3 s, every 2 s) took the silent row back within the 4 s, depending on its phase.
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        db.session.query(Job).filter(Job.id == job.id, Job.worker_name == "new-run:1").update(
            {Job.heartbeat_at: utcnow()}, synchronize_session=False
        )
        db.session.commit()
        time.sleep(0.5)
    after = row(job.id)
    assert (after.status, after.worker_name, after.attempts) == ("running", "new-run:1", 2)
    assert markers(tmp_path / "m", "done") == [] and worker.poll() is None
