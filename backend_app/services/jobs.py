"""Job queries and actions for admins and owners: listing, retry, ETA."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select, update

from backend_app.errors import Conflict, NotFound, ValidationError
from backend_app.extensions import db
from backend_app.models import Job
from backend_app.models.base import utcnow
from backend_app.models.job import CANCELED, COMPLETED, FAILED, QUEUED, RUNNING
from backend_app.queue import reconcile as reconciler
from backend_app.queue.enqueue import enqueue


def list_jobs(status: str | None = None, limit: int = 100) -> list[Job]:
    """Admin-only listing across users (the caller checks the role)."""
    stmt = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if status:
        stmt = stmt.where(Job.status == status)
    return list(db.session.execute(stmt).scalars())


def get_job(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("No such job.", code="JOB_NOT_FOUND")
    return job


def retry(job: Job, *, force: bool = False) -> Job:
    """Put a failed or canceled job back on its queue with a fresh set of attempts.

    Only one of two retries at once moves the row (compare-and-set on its status), so a second
    click can neither enqueue it twice nor reset a run that has just started. A job refused at
    upload is not retryable: its file was deleted, so the run could only fail another way. Nor is
    one that failed with a deterministic code (failure_codes), unless an admin ``force``s it
    (e.g. after raising the limits it was over).
    """
    if job.status in (FAILED, CANCELED) and not (job.retryable or (force and job.forceable)):
        raise Conflict(
            f"A retry cannot help: {job.retry_note}."
            + (" An admin may force it (force=true), e.g. after changing the limits." if job.forceable else ""),
            code="JOB_NOT_RETRYABLE",
            details={"status": job.status, "stage": job.stage, "error_code": job.error_code, "force": job.forceable},
        )
    moved = db.session.execute(
        update(Job)
        .where(Job.id == job.id, Job.status.in_((FAILED, CANCELED)))
        .values(
            status=QUEUED,
            stage=None,
            progress=0,
            error_code=None,
            error_message=None,
            attempts=0,
            queued_at=utcnow(),
            dispatched_at=None,  # it waits for its user's turn like a new job (queue/enqueue.py)
            started_at=None,
            finished_at=None,
            heartbeat_at=None,
        )
    ).rowcount
    db.session.commit()
    db.session.refresh(job)
    if not moved:
        raise Conflict(
            f"Only failed or canceled jobs can be retried; this one is {job.status}.",
            code="JOB_NOT_RETRYABLE",
            details={"status": job.status},
        )
    enqueue(job)
    return job


@dataclass
class RetryAll:
    """What "retry every failed job" did: the jobs queued again, and those passed by, by code."""

    retried: list[Job] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # error code -> jobs a retry cannot help

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())

    def skipped_text(self) -> str:
        """E.g. "2 skipped that a retry cannot help (UNSUPPORTED_CODEC: 1, VIDEO_TOO_LONG: 1)"."""
        if not self.skipped:
            return ""
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.skipped.items()))
        return f"{self.skipped_count} skipped that a retry cannot help ({codes})"


def retry_failed(limit: int = 1000, *, force: bool = False) -> RetryAll:
    """Retry every failed job a retry can help (the dead-letter list), oldest first; the others
    are counted by code. ``force`` (an admin, after changing the limits) retries those too, except
    uploads refused on arrival, whose files are gone."""
    rows = db.session.execute(select(Job).where(Job.status == FAILED).order_by(Job.created_at).limit(limit)).scalars()
    outcome = RetryAll()
    for job in rows.all():
        if not (job.retryable or (force and job.forceable)):
            outcome.skipped[job.error_code or "UNKNOWN"] += 1
            continue
        try:
            outcome.retried.append(retry(job, force=force))
        except Conflict:  # retried by someone else meanwhile
            continue
    return outcome


MAX_STALE_MINUTES = 366 * 24 * 60  # a year: older than that, no queued job is waiting for a look


def requeue_stale(max_age_minutes: float, dry_run: bool = False) -> list[dict]:
    """Queued jobs older than ``max_age_minutes`` that no live RQ job will run: enqueue them again.

    A coded 422 unless the age is a number from 0 to MAX_STALE_MINUTES (NaN, infinity and
    ages before the calendar's start are refused, not a crash)."""
    if not 0 <= max_age_minutes <= MAX_STALE_MINUTES:  # also False for NaN
        raise ValidationError(
            f"max_age_minutes must be a number from 0 to {MAX_STALE_MINUTES} (a year).",
            details={"fields": {"max_age_minutes": f"must be from 0 to {MAX_STALE_MINUTES}"}},
        )
    return reconciler.requeue_stale(max_age_minutes * 60, dry_run=dry_run)


def reconcile_now(dry_run: bool = False) -> dict:
    """One reconciler pass on demand (the worker runs it every RECONCILE_INTERVAL_S)."""
    return reconciler.reconcile(dry_run=dry_run)


def submit_selftest() -> Job:
    """Queue the self-test job: Redis and a worker, end to end (an admin's check that jobs run)."""
    from backend_app.queue.enqueue import submit

    return submit("selftest", user_id=None, payload={"echo": "ping"})


def debug_session(user_id: str | None = None, session_id: str | None = None, limit: int = 200) -> dict:
    """Jobs of a user and/or session, plus jobs that belong to no user (admin debugging)."""
    stmt = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if user_id:
        stmt = stmt.where(Job.user_id == user_id)
    if session_id:
        stmt = stmt.where(Job.session_id == session_id)
    orphans = select(Job).where(Job.user_id.is_(None)).order_by(Job.created_at.desc()).limit(limit)
    return {
        "jobs": list(db.session.execute(stmt).scalars()) if (user_id or session_id) else [],
        "jobs_without_user": list(db.session.execute(orphans).scalars()),
    }


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def expected_duration_s(kind: str, size: float | None) -> float | None:
    """Typical run time of a ``kind`` job of this size, from the last completed ones.

    Jobs of a similar size (within a factor of two) speak first; otherwise the time per size
    unit of all sized runs is scaled, but only within a factor of two of the sizes seen (small
    files are mostly fixed cost: scaled to a file 50 times larger they promised 70 minutes for a
    40-second job), and beyond that there is no estimate (a running job's own pace gives one);
    unsized jobs take the plain median run time.
    """
    samples = db.session.execute(
        select(Job.started_at, Job.finished_at, Job.size_hint)
        .where(Job.kind == kind, Job.status == COMPLETED, Job.started_at.is_not(None), Job.finished_at.is_not(None))
        .order_by(Job.finished_at.desc())
        .limit(100)
    ).all()
    runs = [(max((f - s).total_seconds(), 0.0), z) for s, f, z in samples]
    if not runs:
        return None
    if size:
        similar = [d / z for d, z in runs if z and size / 2 <= z <= size * 2]
        sizes = [z for _, z in runs if z]
        if len(similar) >= 3:
            return _median(similar) * size
        if sizes and min(sizes) / 2 <= size <= max(sizes) * 2:
            return _median([d / z for d, z in runs if z]) * size
        if sizes:
            return None
    return _median([d for d, _ in runs])


def eta_s(job: Job | None) -> float | None:
    """Seconds until the job should finish: past runs of its kind and size, corrected by its progress."""
    if job is None or job.status not in (QUEUED, RUNNING):
        return None
    expected = expected_duration_s(job.kind, job.size_hint)
    if job.status == QUEUED:
        return round(expected, 1) if expected is not None else None
    elapsed = (utcnow() - job.started_at).total_seconds() if job.started_at else 0.0
    if job.progress and job.progress >= 5:
        by_progress = elapsed / job.progress * 100
        weight = job.progress / 100  # the further along, the more its own pace tells
        expected = by_progress if expected is None else (1 - weight) * expected + weight * by_progress
    if expected is None:
        return None
    return round(max(expected - elapsed, 0.0), 1)
