"""The periodic tasks: each runs once per interval across all workers (Redis lock), the reconciler
soon after a worker starts, the purge job is submitted at most once while one is pending."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend_app.extensions import db, redis_store
from backend_app.jobs import schedule
from backend_app.models import Job

pytestmark = [pytest.mark.sqlite_only, pytest.mark.settings(reconcile_interval_s=30, purge_interval_s=60)]


def _purge_jobs() -> list[Job]:
    return list(db.session.execute(select(Job).where(Job.kind == "purge")).scalars())


def test_tasks_run_once_per_interval_across_workers(app):
    worker_a, worker_b = {}, {}
    schedule.run_due(app, worker_a, 1000.0)  # both workers start: nothing due yet
    schedule.run_due(app, worker_b, 1000.0)
    assert schedule.last_runs() == {"reconcile": None, "purge": None}

    schedule.run_due(app, worker_a, 1002.5)  # the reconciler's first run comes ~2 s after start
    schedule.run_due(app, worker_b, 1002.6)  # the other worker loses the lock
    last = schedule.last_runs()
    assert last["reconcile"]["status"] == "ok" and last["purge"] is None
    first_at = last["reconcile"]["at"]
    assert redis_store.conn.pttl(schedule.LOCK_KEY.format("reconcile")) > 25_000

    schedule.run_due(app, worker_a, 1061.0)  # the purge interval has passed
    assert len(_purge_jobs()) == 1 and schedule.last_runs()["reconcile"]["at"] == first_at
    redis_store.conn.delete(schedule.LOCK_KEY.format("purge"))
    schedule.run_due(app, worker_b, 1200.0)  # the first purge job is still queued: no second one
    assert len(_purge_jobs()) == 1
    assert "still pending" in schedule.last_runs()["purge"]["outcome"]["skipped"]


def test_periodic_process_exits_with_its_worker(app, worker):
    import psutil

    from ..helpers import wait_until

    periodic = wait_until(lambda: [c for c in psutil.Process(worker.pid).children()
                                   if "backend_app.jobs.schedule" in " ".join(c.cmdline())], message="periodic process")
    worker.kill()
    worker.wait()
    psutil.wait_procs(periodic, timeout=40)  # it notices within a second once started up
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in periodic)
