"""The periodic tasks: each runs once per interval across all workers (Redis lock), soon after a
worker starts when its interval has passed, however often workers restart; the purge job is
submitted at most once while one is pending."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend_app.extensions import db, redis_store
from backend_app.jobs import schedule
from backend_app.models import Job
from backend_app.queue import periodic

pytestmark = [pytest.mark.sqlite_only, pytest.mark.settings(reconcile_interval_s=30, purge_interval_s=60)]


def _purge_jobs() -> list[Job]:
    return list(db.session.execute(select(Job).where(Job.kind == "purge")).scalars())


def test_tasks_run_once_per_interval_across_workers(app):
    worker_a, worker_b = {}, {}
    schedule.run_due(app, worker_a, 1000.0)  # both workers start: nothing yet
    schedule.run_due(app, worker_b, 1000.0)
    assert periodic.last_runs() == {"reconcile": None, "purge": None}

    schedule.run_due(app, worker_a, 1002.5)  # ~2 s after start: both tasks run, neither ran before
    schedule.run_due(app, worker_b, 1002.6)  # the other worker loses both locks
    last = periodic.last_runs()
    assert last["reconcile"]["status"] == "ok" and last["purge"]["status"] == "ok"
    assert len(_purge_jobs()) == 1
    assert 25_000 < redis_store.conn.pttl(periodic.LOCK_KEY.format("reconcile")) <= 30_000
    assert 55_000 < redis_store.conn.pttl(periodic.LOCK_KEY.format("purge")) <= 60_000

    restarted = {}  # a worker restarted within the interval: the cadence is Redis's, nothing runs early
    schedule.run_due(app, restarted, 2000.0)
    schedule.run_due(app, restarted, 2003.0)
    assert periodic.last_runs() == last

    redis_store.conn.delete(periodic.LOCK_KEY.format("purge"))  # the purge interval has passed
    schedule.run_due(app, restarted, 2004.0)  # the first purge job is still queued: no second one
    assert len(_purge_jobs()) == 1 and periodic.last_runs()["reconcile"] == last["reconcile"]
    assert "still pending" in periodic.last_runs()["purge"]["outcome"]["skipped"]


def test_the_purge_runs_on_a_fleet_that_restarts_more_often_than_its_interval(app):
    """Workers restarted every 15 s (deploys, reloads, crashes) with a 60 s purge interval: the purge
    used to wait for one process to live a whole interval, so it never ran."""
    for start in range(0, 120, 15):
        process = {}
        for second in range(15):
            schedule.run_due(app, process, 5000.0 + start + second)
    assert len(_purge_jobs()) == 1 and periodic.last_runs()["purge"]["status"] == "ok"


def test_periodic_process_exits_with_its_worker(app, worker):
    import psutil

    from tests.helpers import wait_until

    periodic = wait_until(
        lambda: [
            c for c in psutil.Process(worker.pid).children() if "backend_app.jobs.schedule" in " ".join(c.cmdline())
        ],
        message="periodic process",
    )
    worker.kill()
    worker.wait()
    psutil.wait_procs(periodic, timeout=40)  # it notices within a second once started up
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in periodic)
