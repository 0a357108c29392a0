"""Fair scheduling across users (queue/enqueue.py): one user's backlog delays another user's next
job by at most one job. Real Redis, real `python worker.py`, the test-only ``test_sleepy`` kind."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from backend_app.extensions import db, get_queue
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.queue.enqueue import create_job, submit
from backend_app.queue.reconcile import reconcile
from tests.factories import make_user
from tests.helpers import wait_until
from tests.jobs import kinds  # noqa: F401  (registers the test-only kinds in this process)
from tests.jobs.kinds import FAST
from tests.jobs.procs import kill_tree

JOB_S = 0.5


def rows(ids: list[str]) -> list[Job]:
    db.session.expire_all()
    return [db.session.get(Job, i) for i in ids]


def sleepy(user_id: str, seconds: float = JOB_S, marker_dir: Path | None = None) -> Job:
    payload = {"seconds": seconds} | ({"marker_dir": str(marker_dir)} if marker_dir else {})
    return submit("test_sleepy", user_id=user_id, payload=payload)


@pytest.mark.sqlite_only
@pytest.mark.settings(**FAST, user_job_slots=1)
def test_a_backlog_of_30_delays_another_users_job_by_at_most_one_job(app, worker):
    a, b = make_user(), make_user()
    backlog = [sleepy(a.id).id for _ in range(30)]
    # started: a loaded machine's poll can miss the half second the first job is running
    wait_until(lambda: rows(backlog[:1])[0].status in ("running", "completed"), message="A's first job to start")
    b_queued = utcnow()
    b_job = sleepy(b.id).id
    b_row = wait_until(lambda: (r := rows([b_job])[0]).status == "completed" and r, timeout_s=60, message="B's job")
    wait_until(lambda: sum(r.status == "completed" for r in rows(backlog)) >= 4, timeout_s=60, message="A's jobs")
    a_rows = sorted((r for r in rows(backlog) if r.started_at), key=lambda r: r.started_at)
    starts = [r.started_at for r in a_rows]
    one_job_s = max((later - earlier).total_seconds() for earlier, later in zip(starts, starts[1:], strict=False))
    b_wait_s = (b_row.started_at - b_queued).total_seconds()
    a_between = [s for s in starts if b_queued < s < b_row.started_at]
    assert len(a_between) <= 1, f"{len(a_between)} of A's jobs started while B's waited"
    assert b_wait_s <= one_job_s + 0.5, f"B waited {b_wait_s:.2f} s; one job takes {one_job_s:.2f} s"


@pytest.mark.settings(**FAST, user_job_slots=2)
def test_slots_hold_with_two_workers_and_a_worker_killed(app, start_worker, tmp_path):
    """At most USER_JOB_SLOTS of a user's jobs hold a slot at any time, through a worker's death;
    every job still completes, exactly once, and the other user is served meanwhile."""
    a, b = make_user(), make_user()
    workers = start_worker(2)
    marks = tmp_path / "marks"
    backlog = [sleepy(a.id, 0.6, marks).id for _ in range(10)]
    wait_until(lambda: sum(r.status == "running" for r in rows(backlog)) >= 1, message="A's jobs to start")
    kill_tree(workers[0].pid)
    start_worker(1)
    b_job = sleepy(b.id, 0.2).id
    most = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        current = rows(backlog)
        holding = [r for r in current if r.status == "running" or (r.status == "queued" and r.dispatched_at)]
        most = max(most, len(holding))
        if all(r.is_finished for r in current):
            break
        time.sleep(0.05)
    done = rows(backlog)
    assert [r.status for r in done] == ["completed"] * 10
    assert most <= 2, f"{most} of A's jobs held a slot at once"
    assert len(list(marks.glob("done-*"))) == 10  # exactly once each
    b_row = rows([b_job])[0]
    assert b_row.status == "completed" and b_row.finished_at < max(r.finished_at for r in done)


@pytest.mark.settings(stale_queued_s=60, user_job_slots=1)
def test_held_rows_wait_in_the_database_and_the_reconciler_releases_them(app):
    user = make_user()
    first, second = submit("selftest", user_id=user.id), submit("selftest", user_id=user.id)
    queued = get_queue("default").get_job_ids()
    assert first.id in queued and second.id not in queued
    assert rows([second.id])[0].dispatched_at is None and rows([second.id])[0].status == "queued"
    # A held row is not "stale": it has no RQ job on purpose.
    for job in rows([first.id, second.id]):
        job.queued_at = job.created_at = utcnow() - timedelta(seconds=600)
    db.session.commit()
    report = reconcile()
    assert report["requeued"] == [] and report["released"] == []
    # The first one ends but its worker dies before releasing the next: the reconciler does it.
    rows([first.id])[0].status = "completed"
    db.session.commit()
    report = reconcile()
    assert [e["id"] for e in report["released"]] == [second.id]
    assert second.id in get_queue("default").get_job_ids() and rows([second.id])[0].dispatched_at


@pytest.mark.settings(user_job_slots=1)
def test_jobs_without_a_user_and_a_crash_before_enqueue_are_not_held(app):
    system = create_job("selftest", user_id=None)
    db.session.commit()  # committed, then the process died before enqueueing it
    system.queued_at = system.created_at = utcnow() - timedelta(seconds=600)
    db.session.commit()
    report = reconcile()
    assert [e["id"] for e in report["requeued"]] == [system.id]
