"""A requirement batch in the worker: every row evaluated, each result stored as it finishes.

The rows come from Redis (``batch.load_input``). The offline engine runs them one after the
other in this thread; v2 runs up to MAX_PARALLEL LLM calls at a time in a thread pool, a few
rows ahead of the one being stored. Results are stored in row order (the stream's cursor is the
row index) from this thread only, each committed together with the job's progress as soon as it
is there: at once when the next row is not ready yet (v2 waiting for the model), or grouped up to
BATCH_SIZE rows and FLUSH_S when rows finish faster than that (the offline engine), so the
progress a reader sees moves row by row and a commit never costs more than the rows it stores.

What is stored stays: a run that stops (hard time limit, lost worker, its owner's cancel) loses
at most the rows it had in flight, and the next run (the job's retry) evaluates only the rows
not stored yet, recounting the batch from the stored rows.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from flask import current_app
from sqlalchemy import insert, select

from backend_app.extensions import db, redis_store
from backend_app.models import Job, RequirementBatch, RequirementResult
from backend_app.models.base import new_id, utcnow
from backend_app.observability import carrying_log_ids
from backend_app.queue.errors import INTERRUPTIONS, JobCanceled, JobFailure
from backend_app.services import usage
from backend_app.services.requirements import batch as batches
from backend_app.services.requirements import single
from backend_app.services.requirements.engine import ENGINE_V1, sha256, storable
from backend_app.services.requirements.llm_eval import PURPOSE
from backend_app.services.requirements.markdown import Row

log = logging.getLogger(__name__)
FLUSH_S = 0.25  # the longest a finished row waits for rows to share its commit (the stream polls as often)
CHECK_S = 1.0  # while the next row's model call runs, how often the run looks whether it was canceled
Item = tuple[int, Row]


def run(job: Job, ctx) -> dict[str, Any]:
    """The worker's unit of work for one batch; safe to run again (stored rows are kept and skipped)."""
    batch = db.session.get(RequirementBatch, (job.payload or {}).get("batch_id"))
    if batch is None:
        raise JobFailure("BATCH_NOT_FOUND", "The batch row no longer exists.")
    rows = batches.load_input(batch.id)
    stored = set(
        db.session.execute(select(RequirementResult.row_index).where(RequirementResult.batch_id == batch.id)).scalars()
    )
    todo = [(index, row) for index, row in enumerate(rows) if index not in stored]
    batches.recount(batch)
    ctx.progress("evaluating", 100 * len(stored) / len(rows))
    settings = current_app.config["SETTINGS"]
    parallel = batch.variant == "v2" and settings.effective_ai_provider == "openai"
    pool = (
        ThreadPoolExecutor(
            max_workers=settings.max_parallel, thread_name_prefix="batch", initializer=carrying_log_ids()
        )
        if parallel
        else None
    )
    writer = _Writer(batch, ctx, total=len(rows), most=settings.batch_size, guard=parallel)
    try:
        for item, outcome, next_ready in _outcomes(todo, _computer(batch), pool, ctx, ahead=2 * settings.max_parallel):
            writer.add(item, outcome)
            if not next_ready or writer.due():
                writer.flush()
        writer.flush()
    except JobCanceled:
        _stop(pool)
        batches.recount(batch)  # the counters say what this run stored before it stopped
        db.session.commit()
        log.info("requirements batch canceled", extra={"batch_id": batch.id, "stored": batch.done_rows})
        raise
    except BaseException:  # time limit, superseded, a bug: no more LLM calls for a run that is over
        _stop(pool)
        raise
    if pool is not None:
        pool.shutdown(wait=True)
    batches.recount(batch)
    batch.finished_at = utcnow()
    db.session.commit()
    redis_store.conn.delete(batches.input_key(batch.id))
    log.info("requirements batch done", extra={"batch_id": batch.id, "rows": len(rows), "resumed_after": len(stored)})
    return {"batch_id": batch.id, **batch.summary}


def _stop(pool: ThreadPoolExecutor | None) -> None:
    """Drop the rows not started; calls in flight end with the work horse (never waited for here,
    or a hard time limit would wait for a slow model too)."""
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _computer(batch: RequirementBatch) -> Callable[[Row], single.Outcome | Exception]:
    app = current_app._get_current_object()
    keys, mode, variant, user_id = list(batch.criteria_keys), batch.mode, batch.variant, batch.user_id

    def compute(row: Row) -> single.Outcome | Exception:
        with app.app_context():  # each pool thread has its own context and (read-only) session
            try:
                return single.run(row.text, row.context, keys, mode, variant=variant, user_id=user_id, record=False)
            except INTERRUPTIONS:  # the time limit (raised in this thread when the engine runs inline)
                raise
            except Exception as exc:  # one bad row must not sink the batch
                log.exception("requirement row failed")
                return exc

    return compute


def _outcomes(
    todo: list[Item], compute, pool: ThreadPoolExecutor | None, ctx, *, ahead: int
) -> Iterator[tuple[Item, Any, bool]]:
    """(row, outcome, whether the next row's outcome is ready) in row order; identical rows
    (same text and context) are computed once. Without a pool each row is computed when its
    turn comes (CPU work: always "ready"); with one, up to ``ahead`` rows run or wait in it."""
    memo: dict[str, Any] = {}

    def key(row: Row) -> str:
        return sha256(row.text) + json.dumps(row.context, sort_keys=True)

    if pool is None:
        for item in todo:
            k = key(item[1])
            if k not in memo:
                memo[k] = compute(item[1])
            yield item, memo[k], True
        return

    def start(item: Item) -> Future:
        k = key(item[1])
        if k not in memo:
            memo[k] = pool.submit(compute, item[1])
        return memo[k]

    waiting: deque[Future] = deque(start(item) for item in todo[:ahead])
    for position, item in enumerate(todo):
        head = waiting.popleft()
        while True:
            try:
                outcome = head.result(timeout=CHECK_S)
                break
            except FutureTimeout:
                ctx.check()  # a slow model: the owner's cancel must not wait for it
        if position + ahead < len(todo):
            waiting.append(start(todo[position + ahead]))
        yield item, outcome, bool(waiting) and waiting[0].done()


class _Writer:
    """Finished rows waiting for their commit: flushed when the caller says (next row not ready),
    or when BATCH_SIZE rows or FLUSH_S have gathered."""

    def __init__(self, batch: RequirementBatch, ctx, *, total: int, most: int, guard: bool):
        self.batch, self.ctx, self.total, self.most, self.guard = batch, ctx, total, max(1, most), guard
        self.pending: list[tuple[Item, Any]] = []
        self.since = 0.0

    def add(self, item: Item, outcome: Any) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((item, outcome))

    def due(self) -> bool:
        return len(self.pending) >= self.most or time.monotonic() - self.since >= FLUSH_S

    def flush(self) -> None:
        """Stage the rows, then commit them with the job's progress (``ctx.progress``: a run that
        lost its row writes nothing; a canceled one keeps these rows and stops)."""
        if not self.pending:
            return
        items, outcomes = [i for i, _ in self.pending], [o for _, o in self.pending]
        self.pending = []
        _stage(self.batch, items, outcomes)
        self.ctx.progress("evaluating", 100 * self.batch.done_rows / self.total)
        if self.guard:
            _feed_guard(outcomes)


def _feed_guard(outcomes: list) -> None:
    """Each v2 row is a canary sample, a fallback to v1 an error: a broken v2 rolls back from batches too
    (``report_v2_failure`` only reaches the guard from a request)."""
    from backend_app.services.flags import guard

    try:
        for outcome in outcomes:
            guard.record(isinstance(outcome, Exception) or outcome.v2_failed)
    except INTERRUPTIONS:  # the time limit, arriving while the guard talks to Redis
        raise
    except Exception:  # the guard must never be why a batch fails
        log.exception("canary guard could not record batch samples")


def _stage(batch: RequirementBatch, items: list[Item], outcomes: list) -> None:
    """Result rows, the usage of their LLM calls and their rewrites, staged in this thread's session.

    The rows go in as one multi-row INSERT, committed by the caller with the job's progress.
    Rewrites reach Redis first, so a reader never sees a row without it.
    """
    rewrites, records, usages = {}, [], []
    for (index, row), outcome in zip(items, outcomes):
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
        batches.keep_rewrites(batch.id, rewrites)
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
