"""Requirement batches: submission, the worker's run, and reading results back.

The requirement text never reaches the database. At submission the parsed rows go to Redis
under the batch id (``INPUT_TTL_S``); the job row's payload and the RQ job carry only ids.
The worker reads the rows from Redis, evaluates them (v2: up to MAX_PARALLEL LLM calls at a
time in a thread pool, chunk by chunk of BATCH_SIZE, the next chunk already running while
the current one is written), and writes every result from its own thread, one commit per
chunk. A re-run (timeout, lost worker) keeps the rows already stored and does the rest. When the batch finishes its input is deleted; if the input is gone before the run
(Redis flushed, TTL passed) the job fails with ``BATCH_INPUT_MISSING``. Rewritten sentences
are text too: they stay in Redis for PURGE_RETENTION_H (only their SHA-256 is stored).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from flask import current_app
from sqlalchemy import case, func, insert, select

from backend_app.errors import ValidationError
from backend_app.extensions import db, redis_store
from backend_app.models import Job, RequirementBatch, RequirementResult
from backend_app.models.base import new_id, utcnow
from backend_app.observability import carrying_log_ids
from backend_app.queue import enqueue
from backend_app.queue.errors import JobFailure
from backend_app.services import usage
from backend_app.services.requirements import criteria as crit
from backend_app.services.requirements import single
from backend_app.services.requirements.engine import ENGINE_V1, sha256, storable
from backend_app.services.requirements.llm_eval import PURPOSE
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


def _load_input(batch_id: str) -> list[Row]:
    raw = redis_store.conn.get(_key(batch_id, "input"))
    if raw is None:
        raise JobFailure(
            "BATCH_INPUT_MISSING",
            "The batch's rows are no longer in Redis (expired or flushed); submit the table again.",
        )
    return [Row(r["line"], r["key"], r["text"], r["context"]) for r in json.loads(raw)]


def run(job: Job, ctx) -> dict[str, Any]:
    """The worker's unit of work for one batch.

    Safe to run again: rows already stored (by an attempt that timed out or whose worker died)
    are kept, only the missing ones are evaluated, and the counters are recounted from the rows.
    """
    batch = db.session.get(RequirementBatch, (job.payload or {}).get("batch_id"))
    if batch is None:
        raise JobFailure("BATCH_NOT_FOUND", "The batch row no longer exists.")
    rows = _load_input(batch.id)
    stored = set(
        db.session.execute(select(RequirementResult.row_index).where(RequirementResult.batch_id == batch.id)).scalars()
    )
    todo = [(index, row) for index, row in enumerate(rows) if index not in stored]
    _recount(batch)
    ctx.progress("evaluating", 100 * len(stored) / len(rows))
    settings = current_app.config["SETTINGS"]
    parallel = batch.variant == "v2" and settings.effective_ai_provider == "openai"
    with ThreadPoolExecutor(
        max_workers=settings.max_parallel, thread_name_prefix="batch", initializer=carrying_log_ids()
    ) as threads:
        try:
            for chunk, outcomes in _chunks(
                todo, settings.batch_size, _computer(batch), threads if parallel else _Inline()
            ):
                _write_chunk(batch, chunk, outcomes)
                ctx.progress("evaluating", 100 * batch.done_rows / len(rows))  # commits the chunk
                if parallel:
                    _feed_guard(outcomes)
        except BaseException:
            threads.shutdown(wait=False, cancel_futures=True)  # no LLM calls for a run that is over
            raise
    _recount(batch)
    batch.finished_at = utcnow()
    db.session.commit()
    redis_store.conn.delete(_key(batch.id, "input"))
    log.info("requirements batch done", extra={"batch_id": batch.id, "rows": len(rows)})
    return {"batch_id": batch.id, **batch.summary}


def _recount(batch: RequirementBatch) -> None:
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


def _feed_guard(outcomes: list) -> None:
    """Each v2 row is a canary sample, a fallback to v1 an error: a broken v2 rolls back from batches too
    (``report_v2_failure`` only reaches the guard from a request)."""
    from backend_app.services.flags import guard

    try:
        for outcome in outcomes:
            guard.record(isinstance(outcome, Exception) or outcome.v2_failed)
    except Exception:  # the guard must never be why a batch fails
        log.exception("canary guard could not record batch samples")


def _computer(batch: RequirementBatch) -> Callable[[Row], single.Outcome | Exception]:
    app = current_app._get_current_object()
    keys, mode, variant, user_id = list(batch.criteria_keys), batch.mode, batch.variant, batch.user_id

    def compute(row: Row) -> single.Outcome | Exception:
        with app.app_context():  # each pool thread has its own context and (read-only) session
            try:
                return single.run(row.text, row.context, keys, mode, variant=variant, user_id=user_id, record=False)
            except Exception as exc:  # one bad row must not sink the batch
                log.exception("requirement row failed")
                return exc

    return compute


class _Inline:
    """An executor that runs each task at once in the calling thread (the offline engine is CPU-bound)."""

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future


def _chunks(todo: list[tuple[int, Row]], size: int, compute, pool) -> Iterator[tuple[list, list]]:
    """(chunk, outcomes) in row order, the next chunk submitted before this one is handed back for
    writing (so the pool never idles at a chunk edge); identical rows are computed once."""
    memo: dict[str, Future] = {}

    def start(chunk_start: int) -> list[Future]:
        handles = []
        for _index, row in todo[chunk_start : chunk_start + size]:
            key = sha256(row.text) + json.dumps(row.context, sort_keys=True)
            if key not in memo:
                memo[key] = pool.submit(compute, row)
            handles.append(memo[key])
        return handles

    pending = start(0)
    for chunk_start in range(0, len(todo), size):
        upcoming = start(chunk_start + size) if chunk_start + size < len(todo) else []
        yield todo[chunk_start : chunk_start + size], [handle.result() for handle in pending]
        pending = upcoming


def _write_chunk(batch: RequirementBatch, chunk: list[tuple[int, Row]], outcomes: list) -> None:
    """Result rows of one chunk, the usage of its LLM calls and its rewrites, from this thread only.

    The rows go in as one multi-row INSERT; the caller's progress update commits them together
    with the job's progress. Rewrites reach Redis first, so a reader never sees a row without it.
    """
    rewrites, records, usages = {}, [], []
    for (index, row), outcome in zip(chunk, outcomes):
        record = {
            "id": new_id(),
            "batch_id": batch.id,
            "user_id": batch.user_id,
            "session_id": batch.session_id,
            "row_index": index,
            "row_key": row.key,
            "line": row.line,
            "text_sha256": sha256(row.text),
            "created_at": utcnow(),
            **_EMPTY,
        }
        if isinstance(outcome, Exception):
            record.update(status="failed", error_code=getattr(outcome, "code", "EVALUATION_FAILED"))
        else:
            record.update(_fields(outcome.result))
            if "rewrite" in outcome.result:
                rewrites[str(index)] = outcome.result["rewrite"]
            usages += [usage.row(batch.user_id, PURPOSE, call) for call in outcome.usages]
            outcome.usages = []  # a duplicate row shares this outcome: its calls count once
        records.append(record)
    if rewrites:
        key = _key(batch.id, "rewrites")
        pipe = redis_store.conn.pipeline()
        pipe.hset(key, mapping=rewrites)
        pipe.expire(key, current_app.config["SETTINGS"].purge_retention_h * 3600)
        pipe.execute()
    db.session.execute(insert(RequirementResult), records)
    db.session.add_all(usages)
    batch.done_rows += len(records)


_EMPTY = {
    "status": "ok",
    "language": None,
    "variant": None,
    "engine": None,
    "fallback_code": None,
    "overall": None,
    "scores": None,
    "findings": None,
    "rewrite_sha256": None,
    "error_code": None,
}


def _fields(res: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": "ok",
        "language": res["language"],
        "variant": res["variant"],
        "engine": res["engine"],
        "fallback_code": res.get("fallback_code"),
        "overall": res["overall"],
        "scores": res["scores"],
        "findings": [storable(f, ours=res["engine"] == ENGINE_V1) for f in res["findings"]],
        "rewrite_sha256": sha256(res["rewrite"]) if "rewrite" in res else None,
    }


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
