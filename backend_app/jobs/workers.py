"""The RQ worker worker.py runs: how it is built, and what it loads before its horses fork.

Telling a live worker from a dead one (heartbeats, RQ's registries) is ``queue/workers.py``.
"""

from __future__ import annotations

import logging
import signal
from importlib import import_module

from flask import current_app, has_app_context
from redis import Redis
from rq import Worker
from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from backend_app.adapters import llm
from backend_app.extensions import QUEUE_NAMES, db, get_queue
from backend_app.jobs.health import FORK_LOCK, WorkerStatus
from backend_app.jobs.runner import on_horse_killed
from backend_app.models import Job
from backend_app.observability import log_ids
from backend_app.queue.kinds import KINDS
from backend_app.queue.workers import WORKER_TTL_S
from backend_app.services import ai
from backend_app.services.video.workdir import remove_temp_of

log = logging.getLogger(__name__)


class RepeatedTimeLimit(UnixSignalDeathPenalty):
    """RQ's hard time limit, raised again every ``REPEAT_S`` until the run has stopped.

    RQ raises it once, in the horse's main thread, wherever the run is. Code that keeps one item's
    failure from sinking the run (``except Exception`` around a page, a row, a provider call) can
    catch it, and the run then goes on past its limit: on a loaded CI a 5 s batch attempt did,
    inside the canary guard's handler. The runner stops the repeats once it has the limit in hand
    (runner.py), and leaving RQ's ``with`` block cancels them, as it cancels the first alarm."""

    REPEAT_S = 5

    def handle_death_penalty(self, signum, frame):
        if issubclass(self._exception, JobTimeoutException):  # not the worker's own monitoring wake-ups
            signal.alarm(self.REPEAT_S)
        super().handle_death_penalty(signum, frame)


class FramewiseWorker(Worker):
    """RQ's worker, remembering whether its loop ended because it was asked to stop.

    RQ's ``work()`` returns normally both after SIGTERM/SIGINT and after an exception it did not
    expect (a Redis outage longer than one heartbeat while a job runs): worker.py starts a new
    loop after the second, not after the first. A horse's temp files are removed when it ends.
    """

    death_penalty_class = RepeatedTimeLimit
    stop_requested_by_signal = False
    status: WorkerStatus | None = None  # what the health endpoint reports (jobs/health.py)

    def request_stop(self, signum, frame):
        self.stop_requested_by_signal = True
        super().request_stop(signum, frame)

    def execute_job(self, job, queue):
        """RQ's run of one job, with the row's ids on every log line of it (the horse inherits
        them) and the job shown by the health endpoint while it runs."""
        kind, ids = _row_of(job.id)
        if self.status is not None:
            self.status.job_started(job.id, queue.name, kind, ids)
        try:
            with log_ids(job.id, **ids):
                super().execute_job(job, queue)
        finally:
            if self.status is not None:
                self.status.job_ended()

    def fork_work_horse(self, job, queue):
        """RQ's fork, never while a health probe holds a connection's lock (the horse would inherit it held)."""
        with FORK_LOCK:
            super().fork_work_horse(job, queue)

    def monitor_work_horse(self, job, queue, execution):
        """RQ's wait for the horse; then its temp files go, also when it was killed mid-run."""
        try:
            super().monitor_work_horse(job, queue, execution)
        finally:
            try:
                left = remove_temp_of(job.id)
                if left:
                    self.log.info("removed a killed run's temp files", extra={"job_id": job.id, "removed": left})
            except OSError:
                self.log.warning("could not remove a run's temp files", exc_info=True)


def _row_of(job_id: str) -> tuple[str | None, dict[str, str]]:
    """The job row's kind and log ids, read on a connection given back before the fork."""
    try:
        with Session(db.engine) as session:
            row = session.get(Job, job_id)
            return (row.kind, row.log_ids) if row is not None else (None, {})
    except SQLAlchemyError:  # the run itself will say what is wrong with the database
        log.warning("could not read the job row before its run", extra={"job_id": job_id}, exc_info=True)
        return None, {}


def make_worker(connection: Redis, status: WorkerStatus | None = None) -> FramewiseWorker:
    """The worker every `python worker.py` runs: all queues, fast heartbeats, our horse-killed hook."""
    settings = current_app.config["SETTINGS"]
    queues = [get_queue(name, connection) for name in QUEUE_NAMES]
    # maintenance (registry clean-up, taking over the scheduler of a dead worker) every minute
    worker = FramewiseWorker(
        queues,
        connection=connection,
        worker_ttl=WORKER_TTL_S,
        maintenance_interval=60,
        job_monitoring_interval=max(1, settings.job_heartbeat_s),
        work_horse_killed_handler=on_horse_killed,
    )
    if status is not None:
        worker.status, status.worker = status, worker
    return worker


def preload(settings=None) -> None:
    """Import every handler once in the worker, so each forked work horse starts warm (cv2 etc.).

    A handler's module may define ``warm()``, called once here, to load what its runs read
    (models, classifier files) into the parent, shared copy-on-write by every horse. The openai
    SDK (~25 MB with pydantic, ~0.75 s to import) is loaded only when ``settings`` say a model
    is called (AI_PROVIDER=openai): with the offline provider no process loads it, and with a
    model every LLM job would otherwise import it again in its horse.
    """
    if settings is not None:
        llm.warm(settings)
        if settings.effective_ai_provider == "openai" and settings.llm_probe and has_app_context():
            ai.probe_in_background(current_app._get_current_object())
    for kind in KINDS.values():
        try:
            kind.load()
        except ImportError:  # a kind whose module is not built yet fails when it runs, not here
            continue
        warm = getattr(import_module(kind.handler.split(":")[0]), "warm", None)
        if callable(warm):
            warm()
