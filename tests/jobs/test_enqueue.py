"""The enqueue seam: row first, RQ job under the same id, retries recorded, nothing lost."""

from rq.job import Job as RQJob

from backend_app.extensions import db, redis_store
from backend_app.models import Job
from backend_app.queue.enqueue import create_job, enqueue, submit
from tests.helpers import wait_until


def test_row_committed_then_enqueued_with_same_id(app):
    job = submit("selftest", user_id=None, payload={"echo": "x"})
    rq_job = RQJob.fetch(job.id, connection=redis_store.conn)
    assert rq_job.id == job.id and rq_job.args == (job.id,)
    db.session.expire_all()
    row = db.session.get(Job, job.id)
    assert row.status == "queued" and row.enqueue_attempts == 1 and row.enqueued_at is not None
    assert row.enqueue_last_error is None


def test_redis_unreachable_records_attempts_and_keeps_row_queued(app):
    from redis import Redis

    # Point the app at a port nothing listens on: every enqueue attempt fails fast.
    app.extensions["redis"] = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    job = create_job("selftest", user_id=None)
    db.session.commit()
    assert enqueue(job) is False
    db.session.expire_all()
    row = db.session.get(Job, job.id)
    settings = app.config["SETTINGS"]
    assert row.status == "queued"
    assert row.enqueue_attempts == settings.enqueue_retries
    assert "ConnectionError" in row.enqueue_last_error
    assert row.enqueued_at is None


def test_worker_process_runs_the_job_end_to_end(app, worker):
    job = submit("selftest", user_id=None, payload={"echo": "hello"})

    def finished():
        db.session.expire_all()
        row = db.session.get(Job, job.id)
        return row if row.is_finished else None

    row = wait_until(finished, timeout_s=30, message="selftest job to finish")
    assert row.status == "completed", row.to_dict()
    assert row.result["echo"] == "hello"
    assert row.result["worker"].split(":")[1] != str(__import__("os").getpid())
    assert row.attempts == 1 and row.progress == 100
    assert row.started_at and row.finished_at and row.heartbeat_at
    assert "probing" in row.timings


def test_running_twice_is_idempotent(app):
    from backend_app.jobs.runner import run_job

    job = create_job("selftest", user_id=None, payload={"echo": "once"})
    db.session.commit()
    first = run_job(job.id)
    second = run_job(job.id)
    db.session.expire_all()
    row = db.session.get(Job, job.id)
    assert first == second and row.attempts == 1 and row.status == "completed"


def test_unknown_job_id_is_a_no_op(app):
    from backend_app.jobs.runner import run_job

    assert run_job("0" * 32) is None
