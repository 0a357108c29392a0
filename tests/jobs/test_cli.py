"""`flask jobs …` and `flask data purge` on real rows, Redis and (for diagnose) a real worker."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend_app.extensions import db, get_queue
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.queue.enqueue import create_job
from backend_app.queue.periodic import last_runs
from tests.factories import make_user

pytestmark = pytest.mark.settings(job_lost_after_s=30, stale_queued_s=60)


def _job(status: str, age_s: int = 0, user_id: str | None = None, **extra) -> Job:
    job = create_job("selftest", user_id=user_id)
    job.status = status
    job.queued_at = job.created_at = utcnow() - timedelta(seconds=age_s)
    for key, value in extra.items():
        setattr(job, key, value)
    db.session.commit()
    return job


def run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result


def test_diagnose_names_each_problem(app):
    stuck = _job("queued", age_s=600, enqueue_last_error="ConnectionError: Redis down", enqueue_attempts=3)
    _job(
        "running",
        age_s=600,
        attempts=1,
        worker_name="dead:1",
        started_at=utcnow() - timedelta(seconds=600),
        heartbeat_at=utcnow() - timedelta(seconds=600),
    )
    _job("failed", error_code="VIDEO_UNREADABLE")
    result = run(app, "jobs", "diagnose")
    out = result.output
    assert "no worker is alive" in out
    assert "1 queued job(s) have no live RQ job" in out and stuck.id in out
    assert "1 running job(s) stopped heartbeating" in out
    assert "could not be handed to Redis: ConnectionError: Redis down" in out
    assert "VIDEO_UNREADABLE x1" in out
    assert "verdict: DOWN" in out and result.exit_code == 1


@pytest.mark.sqlite_only
def test_diagnose_all_clear_with_a_live_worker(app, worker):
    from tests.helpers import wait_until

    # the worker's periodic process runs each task within seconds of starting, one after the other:
    # waiting for the reconciler only raced the purge, recorded a moment later
    wait_until(lambda: all(last_runs().values()), timeout_s=30, message="every periodic task to have run")
    result = run(app, "jobs", "diagnose")
    assert "workers alive: 1" in result.output and "problems: none" in result.output
    assert "verdict: OK" in result.output and result.exit_code == 0


def test_requeue_stale(app):
    old = _job("queued", age_s=20 * 60)
    _job("queued", age_s=60)
    dry = run(app, "jobs", "requeue-stale", "--max-age-minutes", "10", "--dry-run")
    assert "would re-enqueue 1 job(s)" in dry.output and old.id in dry.output
    assert old.id not in get_queue("default").get_job_ids()
    real = run(app, "jobs", "requeue-stale", "--max-age-minutes", "10")
    assert "re-enqueued 1 job(s)" in real.output and old.id in get_queue("default").get_job_ids()


def test_requeue_stale_says_what_is_wrong_instead_of_a_traceback(app):
    from redis import Redis

    from backend_app import local_redis

    _job("queued", age_s=20 * 60)
    refused = run(app, "jobs", "requeue-stale", "--max-age-minutes", "nan")
    assert refused.exit_code == 2 and "from 0 to" in refused.output
    app.extensions["redis"] = Redis.from_url(
        f"redis://127.0.0.1:{local_redis.free_port()}/0", socket_connect_timeout=0.5
    )
    down = run(app, "jobs", "requeue-stale", "--max-age-minutes", "10")
    assert down.exit_code == 1 and "redis unreachable" in down.output, down.output
    assert "Traceback" not in down.output


def test_debug_session(app):
    user = make_user()
    from backend_app.services import sessions
    from backend_app.tenancy import Tenant

    session = sessions.create(Tenant(user.id), "project")
    mine = _job("running", user_id=user.id, session_id=session.id)
    orphan = _job("queued")
    out = run(app, "jobs", "debug-session", "--user-id", user.id, "--session-id", session.id).output
    assert f"jobs for user={user.id} session={session.id}: 1" in out and mine.id in out
    assert "jobs without a user: 1" in out and orphan.id in out


def test_retry_failed_skips_what_a_retry_cannot_change_and_says_so_unless_forced(app):
    lost = _job("failed", error_code="WORKER_LOST", attempts=3)
    codecs = [_job("failed", error_code="UNSUPPORTED_CODEC", attempts=1) for _ in range(2)]
    too_long = _job("failed", error_code="VIDEO_TOO_LONG", attempts=1)
    out = run(app, "jobs", "retry-failed").output
    assert "retried 1 failed job(s)" in out and lost.id in out
    assert "3 skipped that a retry cannot help (UNSUPPORTED_CODEC: 2, VIDEO_TOO_LONG: 1)" in out and "--force" in out
    assert set(get_queue("default").get_job_ids()) == {lost.id}
    forced = run(app, "jobs", "retry-failed", "--force").output
    assert "retried 3 failed job(s)" in forced and "skipped" not in forced
    assert set(get_queue("default").get_job_ids()) == {lost.id, too_long.id, *(j.id for j in codecs)}


def test_retry_failed_and_reconcile(app):
    failed = _job("failed", error_code="AI_PROVIDER_FAILED", attempts=3)
    out = run(app, "jobs", "retry-failed").output
    assert "retried 1 failed job(s)" in out and failed.id in get_queue("default").get_job_ids()
    lost = _job(
        "running",
        attempts=1,
        started_at=utcnow() - timedelta(seconds=90),
        heartbeat_at=utcnow() - timedelta(seconds=90),
    )
    dry = run(app, "jobs", "reconcile", "--dry-run")
    assert "would recover lost running: 1" in dry.output and "recovered lost" not in dry.output
    db.session.expire_all()
    assert db.session.get(Job, lost.id).status == "running"
    result = run(app, "jobs", "reconcile")
    assert "recovered lost running: 1" in result.output and lost.id in result.output and result.exit_code == 0
    db.session.expire_all()
    assert db.session.get(Job, lost.id).status == "queued"


@pytest.mark.settings(purge_retention_h=1)
def test_data_purge(app):
    old = _job("completed", finished_at=utcnow() - timedelta(hours=3)).id
    new = _job("completed", finished_at=utcnow()).id
    dry = run(app, "data", "purge", "--dry-run").output
    assert "would delete" in dry and "jobs: 1" in dry
    out = run(app, "data", "purge").output
    assert "deleted" in out and "jobs: 1" in out
    db.session.expire_all()
    assert db.session.get(Job, old) is None and db.session.get(Job, new) is not None


def test_create_admin_says_what_is_wrong_with_a_password_instead_of_a_traceback(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", "--email", "root@example.test", "--password", "x"]
    )
    assert result.exit_code == 1 and result.exception.__class__ is SystemExit
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert "--password must be at least 8 characters" in result.output  # which option, and what is wrong
    common = app.test_cli_runner().invoke(
        args=["users", "create-admin", "--email", "root@example.test", "--password", "password123"]
    )
    assert common.exit_code == 1 and "--password is one of the most common passwords" in common.output
    made = app.test_cli_runner().invoke(args=["users", "create-admin", "--email", "root@example.test"])
    assert made.exit_code == 0 and "password: " in made.output
