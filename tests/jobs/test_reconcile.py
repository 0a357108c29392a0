"""The reconciler's rules on real rows and a real Redis (no worker needed: RQ state is real)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq.job import Job as RQJob

from backend_app.extensions import db, get_queue, redis_store
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.queue.enqueue import create_job, submit
from backend_app.queue.reconcile import reconcile

pytestmark = pytest.mark.settings(stale_queued_s=60, job_lost_after_s=30, job_max_attempts=3)


def _row(job_id: str) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _aged(job: Job, **seconds_ago: int) -> Job:
    for column, ago in seconds_ago.items():
        setattr(job, column, utcnow() - timedelta(seconds=ago))
    db.session.commit()
    return job


def _in_queue(job_id: str) -> bool:
    return job_id in get_queue("default").get_job_ids()


def test_stale_queued_row_without_rq_job_is_enqueued(app):
    job = create_job("selftest", user_id=None)
    db.session.commit()
    _aged(job, queued_at=120, created_at=120)
    report = reconcile()
    assert [e["id"] for e in report["requeued"]] == [job.id] and report["errors"] == []
    assert _in_queue(job.id) and _row(job.id).enqueue_attempts == 1


def test_fresh_or_live_queued_rows_are_left_alone(app):
    fresh = create_job("selftest", user_id=None)
    db.session.commit()
    live = submit("selftest", user_id=None)
    _aged(live, queued_at=120, created_at=120)
    report = reconcile()
    assert report["requeued"] == []
    assert not _in_queue(fresh.id) and get_queue("default").get_job_ids().count(live.id) == 1


def test_rq_job_lost_from_a_flushed_redis_is_enqueued_again(app):
    job = submit("selftest", user_id=None)
    redis_store.conn.flushdb()  # Redis restarted without persistence
    _aged(job, queued_at=120)
    assert [e["id"] for e in reconcile()["requeued"]] == [job.id]
    assert RQJob.fetch(job.id, connection=redis_store.conn).id == job.id


def test_silent_running_row_is_requeued_and_its_attempt_counts(app):
    job = create_job("selftest", user_id=None)
    job.status, job.attempts, job.worker_name = "running", 1, "gone-host:123"
    db.session.commit()
    _aged(job, started_at=100, heartbeat_at=90)
    report = reconcile()
    assert [(e["id"], e["action"], e["status"]) for e in report["recovered"]] == [(job.id, "requeue", "queued")]
    row = _row(job.id)
    assert (row.status, row.attempts, row.error_code) == ("queued", 1, "WORKER_LOST")
    assert _in_queue(job.id)


def test_silent_running_row_on_its_last_attempt_fails_with_worker_lost(app):
    job = create_job("selftest", user_id=None)
    job.status, job.attempts = "running", 3
    db.session.commit()
    _aged(job, started_at=100, heartbeat_at=90)
    report = reconcile()
    assert [e["action"] for e in report["recovered"]] == ["fail"]
    row = _row(job.id)
    assert (row.status, row.error_code) == ("failed", "WORKER_LOST") and "stopped heartbeating" in row.error_message


def test_running_row_with_fresh_heartbeat_is_left_alone(app):
    job = create_job("selftest", user_id=None)
    job.status, job.attempts = "running", 1
    db.session.commit()
    _aged(job, started_at=100, heartbeat_at=2)
    assert reconcile()["recovered"] == [] and _row(job.id).status == "running"


def test_running_past_the_hard_limit_fails_with_job_timeout(app):
    job = create_job("selftest", user_id=None)  # selftest's limit is 60 s
    job.status, job.attempts = "running", 1
    db.session.commit()
    _aged(job, started_at=60 + 121, heartbeat_at=1)
    report = reconcile()
    assert [e["id"] for e in report["timed_out"]] == [job.id]
    assert (_row(job.id).status, _row(job.id).error_code) == ("failed", "JOB_TIMEOUT")


def test_dry_run_changes_nothing(app):
    queued = create_job("selftest", user_id=None)
    running = create_job("selftest", user_id=None)
    running.status, running.attempts = "running", 1
    db.session.commit()
    _aged(queued, queued_at=120, created_at=120)
    _aged(running, started_at=100, heartbeat_at=90)
    report = reconcile(dry_run=True)
    assert len(report["requeued"]) == 1 and len(report["recovered"]) == 1
    assert _row(queued.id).enqueue_attempts == 0 and _row(running.id).status == "running"
    assert not _in_queue(queued.id)


@pytest.mark.sqlite_only
def test_redis_down_is_reported_not_raised(app):
    from redis import Redis

    app.extensions["redis"] = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    report = reconcile()
    assert report["requeued"] == [] and "redis unreachable" in report["errors"][0]
