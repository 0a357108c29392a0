"""RQ's workers seen from outside: which are alive, and whether a row's RQ job will (still) run.

The reconciler, /health and `flask jobs diagnose` read these; jobs/workers.py builds the worker.

A worker refreshes its RQ heartbeat every ``JOB_HEARTBEAT_S`` while a job runs and at least
every ``WORKER_TTL_S - 15`` seconds when idle, so a worker whose heartbeat is older than
``WORKER_TTL_S + JOB_HEARTBEAT_S`` is gone (killed, host down) even while its key lingers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from redis import Redis
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job as RQJob
from rq.job import JobStatus

from backend_app.extensions import get_queue, redis_store
from backend_app.models.base import utcnow

WORKER_TTL_S = 60


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=utcnow().tzinfo)
    return value


def silent_after_s() -> float:
    """Seconds without an RQ heartbeat after which a worker counts as gone."""
    return WORKER_TTL_S + max(current_app.config["SETTINGS"].job_heartbeat_s, 1) * 2


def is_alive(worker: Worker) -> bool:
    """Whether the worker's RQ heartbeat is fresh."""
    beat = _aware(worker.last_heartbeat)
    return beat is not None and (utcnow() - beat).total_seconds() < silent_after_s()


def live_workers(connection: Redis | None = None) -> list[Worker]:
    """Every registered worker whose heartbeat is fresh."""
    return [w for w in Worker.all(connection=connection or redis_store.conn) if is_alive(w)]


def current_job_ids(worker: Worker) -> set[str]:
    """The ids of the jobs the worker is running now."""
    return {execution.job_id for execution in worker.get_current_executions(refresh=True)}


def owner_alive(rq_job: RQJob, connection: Redis | None = None) -> bool:
    """True when the RQ worker that started this job still runs it and heartbeats.

    A busy worker heartbeats every JOB_HEARTBEAT_S, so silence longer than JOB_LOST_AFTER_S
    means it died (its Redis key outlives it by a minute; its heartbeat does not).
    """
    connection = connection or redis_store.conn
    if not rq_job.worker_name:
        return False
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + rq_job.worker_name, connection=connection)
    if worker is None or rq_job.id not in current_job_ids(worker):
        return False
    beat = _aware(worker.last_heartbeat)
    return beat is not None and (utcnow() - beat).total_seconds() < current_app.config["SETTINGS"].job_lost_after_s


def _scheduled_in_time(queue, job_id: str) -> bool:
    """Scheduled (a retry waiting out its backoff) and not long overdue (a scheduler is moving jobs)."""
    registry = queue.scheduled_job_registry
    if job_id not in registry:
        return False
    due = registry.get_scheduled_time(job_id)
    overdue_s = (utcnow() - _aware(due)).total_seconds()
    return overdue_s < current_app.config["SETTINGS"].stale_queued_s + 5


def _executing(queue, job_id: str, connection: Redis) -> bool:
    """An unexpired execution of the job in the queue's started registry (RQ's own bookkeeping)."""
    now = utcnow().timestamp()
    for entry, expires in connection.zrange(queue.started_job_registry.key, 0, -1, withscores=True):
        if entry.decode().split(":", 1)[0] == job_id and (expires < 0 or expires > now):
            return True
    return False


def rq_state(job_id: str, connection: Redis | None = None) -> dict[str, Any]:
    """What RQ knows about a row's job: its status and whether some worker will (still) run it."""
    connection = connection or redis_store.conn
    try:
        rq_job = RQJob.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return {"status": None, "live": False, "worker": None, "started_at": None}
    status = rq_job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        queue = get_queue(rq_job.origin, connection)
        live = (
            connection.lpos(queue.key, job_id) is not None
            or connection.lpos(queue.intermediate_queue_key, job_id) is not None
            or _executing(queue, job_id, connection)
        )  # popped by a worker, horse not started yet
    elif status == JobStatus.SCHEDULED:
        live = _scheduled_in_time(get_queue(rq_job.origin, connection), job_id)
    elif status == JobStatus.STARTED:
        live = (
            owner_alive(rq_job, connection)
            if rq_job.worker_name
            else _executing(get_queue(rq_job.origin, connection), job_id, connection)
        )
    else:
        live = status == JobStatus.DEFERRED
    return {
        "status": status.value if status else None,
        "live": live,
        "worker": rq_job.worker_name,
        "started_at": _aware(rq_job.started_at),
    }
