"""Fair use: each user's storage, uploads per hour and concurrent jobs against their limits.

Limits are the USER_STORAGE_BYTES, USER_UPLOADS_PER_HOUR and USER_CONCURRENT_JOBS settings,
unless an admin set the user's own (a ``UserQuota`` row; a None column keeps the default).
Uploads are checked at init, before anything is stored or queued (``check_upload``): storage
over the limit answers 413 QUOTA_STORAGE_EXCEEDED; too many uploads this hour or too many jobs
at once answer 429 (QUOTA_UPLOADS_PER_HOUR, QUOTA_CONCURRENT_JOBS) with Retry-After.
Storage counts the bytes of the user's source videos and documents (declared until the upload
completes; refused uploads, whose file was deleted, count nothing), and uploads per hour count both. Concurrent jobs are the user's
queued and running jobs plus uploads still waiting for their bytes within the upload link's
lifetime (an abandoned one stops counting when its link expires).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select

from backend_app.errors import AppError, NotFound, ValidationError
from backend_app.extensions import db
from backend_app.models import Analysis, Document, Job, User, UserQuota
from backend_app.models.base import utcnow
from backend_app.models.job import FAILED, PENDING_UPLOAD, QUEUED, REFUSED_AT, RUNNING
from backend_app.models.quota import QUOTA_FIELDS
from backend_app.services.accounts import normalize_email

HOUR = timedelta(hours=1)
BUSY_RETRY_AFTER_S = 30  # no job ends at a known time; about a reconciler pass is a fair poll
MAX_LIMIT = 2**62


class QuotaExceeded(AppError):
    """A refusal for a quota; 429s carry Retry-After."""

    def __init__(self, message: str, *, code: str, status: int, retry_after_s: int | None = None, **details):
        super().__init__(message, code=code, status=status, details=details)
        if retry_after_s is not None:
            self.headers = {"Retry-After": str(max(1, int(retry_after_s)))}
            self.details["retry_after_s"] = max(1, int(retry_after_s))


def defaults() -> dict[str, int]:
    """The limits of a user without overrides (the USER_* settings)."""
    settings = current_app.config["SETTINGS"]
    return {
        "storage_bytes": settings.user_storage_bytes,
        "uploads_per_hour": settings.user_uploads_per_hour,
        "concurrent_jobs": settings.user_concurrent_jobs,
    }


def overrides_by_user() -> dict[str, dict[str, int | None]]:
    """Every user's own limits (None: the default), for the admin's user list."""
    return {
        row.user_id: {name: getattr(row, name) for name in QUOTA_FIELDS}
        for row in db.session.execute(select(UserQuota)).scalars()
    }


def limits(user_id: str) -> dict[str, int]:
    """The user's limits: their own where an admin set one, else the settings' defaults."""
    values = defaults()
    own = db.session.get(UserQuota, user_id)
    if own is not None:
        values |= {name: getattr(own, name) for name in QUOTA_FIELDS if getattr(own, name) is not None}
    return values


def storage_used(user_id: str) -> int:
    """Bytes of the user's source videos and documents (refused uploads excluded: their file is gone)."""
    refused = and_(Job.status == FAILED, func.coalesce(Job.stage, "") == REFUSED_AT)
    total = 0
    for model, size in (
        (Analysis, func.coalesce(Analysis.file_size, Analysis.declared_size)),
        (Document, Document.size_bytes),
    ):
        total += db.session.execute(
            select(func.coalesce(func.sum(size), 0))
            .select_from(model)
            .outerjoin(Job, Job.id == model.job_id)
            .where(model.user_id == user_id, or_(Job.id.is_(None), ~refused))
        ).scalar()
    return int(total)


def _uploads_this_hour(user_id: str) -> list:
    """When each of the user's uploads of the last hour began, videos and documents, oldest first."""
    since = utcnow() - HOUR
    times: list = []
    for model in (Analysis, Document):
        stmt = select(model.created_at).where(model.user_id == user_id, model.created_at >= since)
        times += db.session.execute(stmt).scalars()
    return sorted(times)


def active_jobs(user_id: str) -> int:
    """Queued and running jobs, plus uploads still waiting for their bytes."""
    link_open = utcnow() - timedelta(seconds=current_app.config["SETTINGS"].signed_url_ttl_s)
    waiting = and_(Job.status == PENDING_UPLOAD, Job.created_at >= link_open)
    return int(
        db.session.execute(
            select(func.count())
            .select_from(Job)
            .where(Job.user_id == user_id, or_(Job.status.in_((QUEUED, RUNNING)), waiting))
        ).scalar()
    )


def summary(user_id: str) -> dict[str, Any]:
    """Each limit with what is used and what remains (the usage page and GET /usage)."""
    limit = limits(user_id)
    uploads = _uploads_this_hour(user_id)
    used = {
        "storage_bytes": storage_used(user_id),
        "uploads_per_hour": len(uploads),
        "concurrent_jobs": active_jobs(user_id),
    }
    out: dict[str, Any] = {
        name: {"limit": limit[name], "used": used[name], "remaining": max(limit[name] - used[name], 0)}
        for name in QUOTA_FIELDS
    }
    out["uploads_per_hour"]["resets_in_s"] = _resets_in_s(uploads)
    return out


def _resets_in_s(uploads: list) -> int | None:
    """Seconds until the oldest upload of the last hour stops counting."""
    if not uploads:
        return None
    return max(1, math.ceil((uploads[0] + HOUR - utcnow()).total_seconds()))


def check_upload(user_id: str, file_size: int) -> None:
    """Refuse a new upload of ``file_size`` bytes that would break one of the user's limits."""
    limit = limits(user_id)
    used = storage_used(user_id)
    if used + file_size > limit["storage_bytes"]:
        raise QuotaExceeded(
            f"This upload needs {file_size} bytes but only {max(limit['storage_bytes'] - used, 0)} of your "
            f"{limit['storage_bytes']} bytes of storage are left; delete videos or documents to make room.",
            code="QUOTA_STORAGE_EXCEEDED",
            status=413,
            limit=limit["storage_bytes"],
            used=used,
            file_size=file_size,
        )
    uploads = _uploads_this_hour(user_id)
    if len(uploads) >= limit["uploads_per_hour"]:
        raise QuotaExceeded(
            f"You have started {len(uploads)} uploads in the last hour, your limit; try again later.",
            code="QUOTA_UPLOADS_PER_HOUR",
            status=429,
            retry_after_s=_resets_in_s(uploads) or 3600,
            limit=limit["uploads_per_hour"],
            used=len(uploads),
        )
    busy = active_jobs(user_id)
    if busy >= limit["concurrent_jobs"]:
        raise QuotaExceeded(
            f"You have {busy} jobs waiting or running, your limit; start more when some have finished.",
            code="QUOTA_CONCURRENT_JOBS",
            status=429,
            retry_after_s=BUSY_RETRY_AFTER_S,
            limit=limit["concurrent_jobs"],
            used=busy,
        )


def parse_limit(name: str, value: Any) -> int | None:
    """An admin's value for a limit: a whole number from 0, or None (back to the default)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LIMIT:
        raise ValidationError(
            f"{name} must be a whole number of 0 or more, or null for the default.",
            details={"fields": {name: "must be a whole number of 0 or more, or null"}},
        )
    return value


def set_limits(user_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Set (a number) or reset (None) some of a user's limits; returns the user's quota summary."""
    if db.session.get(User, user_id) is None:
        raise NotFound("No such user.", code="USER_NOT_FOUND")
    unknown = sorted(set(changes) - set(QUOTA_FIELDS))
    if unknown:
        raise ValidationError(
            f"Unknown quota field(s): {', '.join(unknown)}; use {', '.join(QUOTA_FIELDS)}.",
            details={"fields": {name: "is not a quota" for name in unknown}},
        )
    values = {name: parse_limit(name, value) for name, value in changes.items()}
    own = db.session.get(UserQuota, user_id) or UserQuota(user_id=user_id)
    for name, value in values.items():
        setattr(own, name, value)
    own.updated_at = utcnow()
    db.session.add(own)
    db.session.commit()
    return own_and_summary(user_id)


def own_and_summary(user_id: str) -> dict[str, Any]:
    """The user's overrides (None: default) and their current quota summary."""
    if db.session.get(User, user_id) is None:
        raise NotFound("No such user.", code="USER_NOT_FOUND")
    own = db.session.get(UserQuota, user_id)
    overrides = {name: getattr(own, name) if own else None for name in QUOTA_FIELDS}
    return {"user_id": user_id, "overrides": overrides, "quota": summary(user_id)}


def user_by_email(email: str) -> User:
    """The account an admin names by email (the CLI), or USER_NOT_FOUND."""
    user = db.session.execute(select(User).where(User.email == normalize_email(email))).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No account with the email {email!r}.", code="USER_NOT_FOUND")
    return user
