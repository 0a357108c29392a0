"""Requirement batches: submission, cancel, and reading results back (the worker's run is batch_run.py).

The requirement text never reaches the database. At submission the parsed rows go to Redis
under the batch id (``INPUT_TTL_S``); the job row's payload and the RQ job carry only ids.
The worker reads the rows from Redis and stores each result as it finishes; a re-run (time
limit, lost worker, an admin's retry of a canceled batch) keeps the rows already stored and
does the rest. When the batch finishes its input is deleted; if the input is gone before the
run (Redis flushed, TTL passed) the job fails with ``BATCH_INPUT_MISSING``. Rewritten sentences
are text too: they stay in Redis for PURGE_RETENTION_H (only their SHA-256 is stored).
"""

from __future__ import annotations

import json
import logging

from flask import current_app
from sqlalchemy import case, func, select

from backend_app.errors import Conflict, ValidationError
from backend_app.extensions import db, redis_store
from backend_app.models import RequirementBatch, RequirementResult
from backend_app.models.base import new_id, utcnow
from backend_app.models.job import CANCELED, QUEUED
from backend_app.queue import enqueue, state
from backend_app.queue.errors import JobFailure
from backend_app.services.requirements import criteria as crit
from backend_app.services.requirements.markdown import Row, TableError, parse
from backend_app.tenancy import Tenant, get_owned

log = logging.getLogger(__name__)
INPUT_TTL_S = 86_400
KEY = "framewise:reqbatch:{id}:{part}"


def _key(batch_id: str, part: str) -> str:
    return KEY.format(id=batch_id, part=part)


def submit(
    tenant: Tenant, mode: str, markdown: str, *, source: str, criteria_keys: list[str] | None, variant: str
) -> RequirementBatch:
    """Parse the table, park its rows in Redis, commit the batch and its job row, enqueue."""
    settings = current_app.config["SETTINGS"]
    try:
        table = parse(markdown, max_rows=settings.max_batch_rows)
    except TableError as exc:
        raise ValidationError(exc.message, code=exc.code, details={"line": exc.line}) from None
    keys = crit.resolve(criteria_keys)
    if not table.rows:
        raise ValidationError(
            "No row of the table can run; every row was rejected.",
            code="BATCH_NO_VALID_ROWS",
            details={"rejected": table.rejected},
        )
    batch_id, job_id = new_id(), new_id()
    rows = [{"line": r.line, "key": r.key, "text": r.text, "context": r.context} for r in table.rows]
    redis_store.conn.set(_key(batch_id, "input"), json.dumps(rows, ensure_ascii=False), ex=INPUT_TTL_S)
    db.session.add(
        RequirementBatch(
            id=batch_id,
            user_id=tenant.user_id,
            session_id=tenant.session_id,
            job_id=job_id,
            mode=mode,
            variant=variant,
            criteria_keys=keys,
            source=source,
            total_rows=len(rows),
            rejected=table.rejected,
        )
    )
    enqueue.submit(
        "requirements_batch",
        user_id=tenant.user_id,
        session_id=tenant.session_id,
        payload={"batch_id": batch_id},
        size_hint=float(len(rows)),
        job_id=job_id,
    )
    return db.session.get(RequirementBatch, batch_id)


def input_key(batch_id: str) -> str:
    return _key(batch_id, "input")


def load_input(batch_id: str) -> list[Row]:
    raw = redis_store.conn.get(_key(batch_id, "input"))
    if raw is None:
        raise JobFailure(
            "BATCH_INPUT_MISSING",
            "The batch's rows are no longer in Redis (expired or flushed); submit the table again.",
        )
    return [Row(r["line"], r["key"], r["text"], r["context"]) for r in json.loads(raw)]


def recount(batch: RequirementBatch) -> None:
    """done/failed/fallback counters and the summary, from the stored rows."""
    r = RequirementResult
    done, failed, fallbacks, mean = db.session.execute(
        select(
            func.count(), func.count(case((r.status == "failed", 1))), func.count(r.fallback_code), func.avg(r.overall)
        ).where(r.batch_id == batch.id)
    ).one()
    batch.done_rows, batch.failed_rows, batch.v2_fallbacks = done, failed, fallbacks
    batch.summary = {
        "mean_overall": round(float(mean), 1) if mean is not None else None,
        "rows": done,
        "failed": failed,
        "v2_fallbacks": fallbacks,
    }


def keep_rewrites(batch_id: str, rewrites: dict[str, str]) -> None:
    """Rewritten sentences by row index, held in Redis for PURGE_RETENTION_H (never in the database)."""
    key = _key(batch_id, "rewrites")
    pipe = redis_store.conn.pipeline()
    pipe.hset(key, mapping=rewrites)
    pipe.expire(key, current_app.config["SETTINGS"].purge_retention_h * 3600)
    pipe.execute()


def cancel(tenant: Tenant, batch_id: str) -> RequirementBatch:
    """The owner's cancel: a waiting batch never starts, a running one stops after the row it is on.

    The rows already stored stay (read, stream and export them as before); canceling twice is
    fine; a batch that has finished answers 409 BATCH_FINISHED."""
    batch = get(tenant, batch_id)
    job = batch.job
    if job is not None and job.status != CANCELED:
        was = job.status
        if not state.cancel(job):
            db.session.refresh(job)
        if job.status == CANCELED and was == QUEUED:
            enqueue.withdraw(job.id)  # off RQ's queue and retry schedule; its user's next job may go
            enqueue.release_for(job.id)
    if job is None or job.status != CANCELED:
        status = job.status if job is not None else "failed"
        raise Conflict(
            f"This batch has {status}; there is nothing to cancel.",
            code="BATCH_FINISHED",
            details={"status": status},
        )
    db.session.refresh(batch)
    if batch.finished_at is None:
        batch.finished_at = job.finished_at or utcnow()
    recount(batch)
    db.session.commit()
    return batch


def get(tenant: Tenant, batch_id: str) -> RequirementBatch:
    """The tenant's batch (api and pages alike); anybody else's is BATCH_NOT_FOUND."""
    return get_owned(RequirementBatch, tenant, batch_id, what="batch")


def rewrites(batch_id: str) -> dict[int, str]:
    """The batch's rewritten sentences still held in Redis, by row index."""
    raw = redis_store.conn.hgetall(_key(batch_id, "rewrites"))
    return {int(k): v.decode("utf-8") for k, v in raw.items()}


def results(batch: RequirementBatch, *, after: int = -1, limit: int | None = None) -> list[RequirementResult]:
    stmt = (
        select(RequirementResult)
        .where(
            RequirementResult.batch_id == batch.id,
            RequirementResult.user_id == batch.user_id,
            RequirementResult.row_index > after,
        )
        .order_by(RequirementResult.row_index)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(db.session.execute(stmt).scalars())


def purge_input(batch_id: str) -> None:
    redis_store.conn.delete(_key(batch_id, "input"), _key(batch_id, "rewrites"))
