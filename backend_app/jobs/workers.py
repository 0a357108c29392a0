"""RQ workers: how worker.py builds one, and how other processes tell a live one from a dead one.

A worker refreshes its RQ heartbeat every ``JOB_HEARTBEAT_S`` while a job runs and at least
every ``WORKER_TTL_S - 15`` seconds when idle, so a worker whose heartbeat is older than
``WORKER_TTL_S + JOB_HEARTBEAT_S`` is gone (killed, host down) even while its key lingers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from redis import Redis
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus

from ..extensions import QUEUE_NAMES, get_queue, redis_store
from ..models.base import utcnow

WORKER_TTL_S = 60


def make_worker(connection: Redis) -> Worker:
    """The worker every `python worker.py` runs: all queues, fast heartbeats, our horse-killed hook."""
    from .runner import on_horse_killed

    settings = current_app.config["SETTINGS"]
    queues = [get_queue(name, connection) for name in QUEUE_NAMES]
    return Worker(queues, connection=connection, worker_ttl=WORKER_TTL_S,
                  job_monitoring_interval=max(1, settings.job_heartbeat_s),
                  work_horse_killed_handler=on_horse_killed)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=utcnow().tzinfo)
    return value


def silent_after_s() -> float:
    return WORKER_TTL_S + max(current_app.config["SETTINGS"].job_heartbeat_s, 1) * 2


def is_alive(worker: Worker) -> bool:
    beat = _aware(worker.last_heartbeat)
    return beat is not None and (utcnow() - beat).total_seconds() < silent_after_s()


def live_workers(connection: Redis | None = None) -> list[Worker]:
    return [w for w in Worker.all(connection=connection or redis_store.conn) if is_alive(w)]


def current_job_ids(worker: Worker) -> set[str]:
    return {execution.job_id for execution in worker.get_current_executions(refresh=True)}


def owner_alive(rq_job: RQJob, connection: Redis | None = None) -> bool:
    """True when the RQ worker that started this job is alive and still running it."""
    connection = connection or redis_store.conn
    if not rq_job.worker_name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + rq_job.worker_name, connection=connection)
    return worker is not None and is_alive(worker) and rq_job.id in current_job_ids(worker)


def rq_state(job_id: str, connection: Redis | None = None) -> dict[str, Any]:
    """What RQ knows about a row's job: its status and whether some worker will (still) run it."""
    connection = connection or redis_store.conn
    try:
        rq_job = RQJob.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return {"status": None, "live": False}
    status = rq_job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        queue = get_queue(rq_job.origin, connection)
        live = connection.lpos(queue.key, job_id) is not None or \
            connection.lpos(queue.intermediate_queue_key, job_id) is not None
    elif status == JobStatus.SCHEDULED:
        live = job_id in get_queue(rq_job.origin, connection).scheduled_job_registry
    elif status == JobStatus.STARTED:
        live = owner_alive(rq_job, connection)
    else:
        live = status == JobStatus.DEFERRED
    return {"status": status.value if status else None, "live": live, "worker": rq_job.worker_name}
