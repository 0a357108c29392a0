"""Personal API keys: make, list, revoke, and resolve a presented key to its owner.

A key is ``fw_`` and 43 URL-safe characters from ``secrets`` (256 bits), shown once when it is
made. The database keeps its SHA-256 only: a presented key is found by the hash of what was sent
(an indexed equality lookup, so nothing compares secret bytes in a data-dependent way, and a
stolen database yields no usable key). Scopes: ``read`` (GET and HEAD only), ``write``
(everything the user may do except the admin endpoints) and ``admin`` (the admin endpoints as
well, and only while the user is an admin; only an admin can make one).

Every request made with a key is counted against ``API_KEY_RATE_LIMIT`` (flask-limiter's
storage, per key) and written to the audit trail (``api_key_events``: made, used, refused with
its code, revoked) with ``last_used_at``. The first lookup of a request is remembered for the
rest of it (the canary asks before the view), so a request is counted and audited once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app, has_request_context, request
from limits import parse_many
from sqlalchemy import delete, func, select

from backend_app.errors import AppError, Forbidden, NotFound, RateLimited, Unauthorized, ValidationError
from backend_app.extensions import db, limiter, request_memo
from backend_app.models import ApiKey, ApiKeyEvent
from backend_app.models.api_key import SCOPES
from backend_app.models.base import utcnow
from backend_app.models.user import SignedInUser
from backend_app.services import accounts, hooks

log = logging.getLogger(__name__)
KEY_PREFIX = "fw_"
TOKEN_BYTES = 32
MAX_KEYS = 50  # live keys per user
MAX_NAME = 100
MAX_DAYS = 3650
READ_METHODS = ("GET", "HEAD", "OPTIONS")
_MEMO = "api_key"


@dataclass(frozen=True)
class KeyUse:
    """A presented key that signs a request in: which key, its scope, and its owner."""

    key_id: str
    scope: str
    user: SignedInUser


def looks_like_key(raw: str | None) -> bool:
    """Whether a bearer value is meant as an API key (a JWT never starts with ``fw_``)."""
    return bool(raw) and raw.startswith(KEY_PREFIX)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def create(user: SignedInUser, *, name: str, scope: str, expires_in_days: int | None = None) -> tuple[ApiKey, str]:
    """Make a key for ``user``; returns the row and the key itself (shown this once)."""
    problems = {}
    if not (name or "").strip() or len(name) > MAX_NAME:  # the length as sent, as the OpenAPI document says
        problems["name"] = f"must be 1 to {MAX_NAME} characters"
    if scope not in SCOPES:
        problems["scope"] = "must be one of " + ", ".join(SCOPES)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        problems["expires_in_days"] = f"must be 1 to {MAX_DAYS} days (or left out: no expiry)"
    if problems:
        raise ValidationError(details={"fields": problems})
    if scope == "admin" and not user.is_admin:
        raise Forbidden("Only an admin can make a key with the admin scope.", code="ADMIN_REQUIRED")
    live = db.session.execute(
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
    ).scalar_one()
    if live >= MAX_KEYS:
        raise AppError(f"You have {MAX_KEYS} keys; revoke one first.", code="TOO_MANY_API_KEYS", status=409)
    raw = KEY_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    key = ApiKey(
        user_id=user.id,
        name=name.strip(),
        scope=scope,
        key_hash=_hash(raw),
        prefix=raw[: len(KEY_PREFIX) + 6],
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(key)
    db.session.flush()
    _audit(key.id, user.id, "create")
    db.session.commit()
    log.info("api key created", extra={"user_id": user.id, "api_key_id": key.id, "scope": scope})
    return key, raw


def list_for(user_id: str) -> list[ApiKey]:
    """The user's keys that are not revoked, newest first (expired ones too: their owner should see them)."""
    return list(
        db.session.execute(
            select(ApiKey)
            .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at.desc(), ApiKey.id)
        ).scalars()
    )


def revoke(user_id: str, key_id: str) -> ApiKey:
    """Revoke one of the user's keys; another user's key (or a revoked one) is not found."""
    key = db.session.execute(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    if key is None:
        raise NotFound("No such API key.", code="API_KEY_NOT_FOUND")
    key.revoked_at = utcnow()
    _audit(key.id, user_id, "revoke")
    db.session.commit()
    log.info("api key revoked", extra={"user_id": user_id, "api_key_id": key.id})
    return key


def events(user_id: str, limit: int = 100) -> list[ApiKeyEvent]:
    """The user's key audit trail, newest first."""
    return list(
        db.session.execute(
            select(ApiKeyEvent).where(ApiKeyEvent.user_id == user_id).order_by(ApiKeyEvent.id.desc()).limit(limit)
        ).scalars()
    )


def identify(raw: str) -> KeyUse:
    """The key's owner for this request, or the coded refusal (remembered for the request)."""
    memo = request_memo(_MEMO) if has_request_context() else {}
    if raw not in memo:
        try:
            memo[raw] = _identify(raw)
        except AppError as refusal:
            memo[raw] = refusal
    found = memo[raw]
    if isinstance(found, AppError):
        raise found
    return found


def _identify(raw: str) -> KeyUse:
    key = db.session.execute(select(ApiKey).where(ApiKey.key_hash == _hash(raw))).scalar_one_or_none()
    if key is None:
        raise Unauthorized("This API key is not valid.", code="API_KEY_INVALID")
    now = utcnow()
    if key.revoked_at is not None:
        _refuse(key, "API_KEY_REVOKED")
        raise Unauthorized("This API key has been revoked.", code="API_KEY_REVOKED")
    if key.expires_at is not None and key.expires_at <= now:
        _refuse(key, "API_KEY_EXPIRED")
        raise Unauthorized("This API key has expired; make a new one.", code="API_KEY_EXPIRED")
    user = accounts.active_user(key.user_id)  # ACCOUNT_DISABLED for a disabled account
    _count(key.id)
    key.last_used_at = now
    _audit(key.id, key.user_id, "use")
    db.session.commit()
    return KeyUse(key.id, key.scope, user)


def require_scope(use: KeyUse, method: str, *, admin: bool = False) -> None:
    """Refuse with INSUFFICIENT_SCOPE what the key's scope does not cover (and audit it)."""
    if admin and use.scope != "admin":
        needed = "admin"
    elif method.upper() not in READ_METHODS and use.scope == "read":
        needed = "write"
    else:
        return
    key = db.session.get(ApiKey, use.key_id)
    if key is not None:
        _refuse(key, "INSUFFICIENT_SCOPE")
    raise Forbidden(
        f"This API key's scope is {use.scope}; this request needs {needed}.",
        code="INSUFFICIENT_SCOPE",
        details={"scope": use.scope, "needed": needed},
    )


def _count(key_id: str) -> None:
    """Count the request against the key's rate limits; 429 RATE_LIMITED with Retry-After beyond them.

    The limits live in flask-limiter's storage (Redis, as the login limits); if it cannot be
    reached the request goes through (as the sign-in throttle does) and the log says so.
    """
    rates = parse_many(current_app.config["SETTINGS"].api_key_rate_limit)
    try:
        strategy = limiter.limiter
        for rate in rates:
            if not strategy.hit(rate, "api-key", key_id):
                reset_at = strategy.get_window_stats(rate, "api-key", key_id).reset_time
                wait = max(1, math.ceil(reset_at - time.time()))
                error = RateLimited(
                    f"This API key made more than {rate} requests; try again in {wait} s.",
                    details={"limit": str(rate), "retry_after_s": wait},
                )
                error.headers["Retry-After"] = str(wait)
                raise error
    except RateLimited:
        raise
    except Exception:
        log.warning("api key rate limit unreachable: request let through", extra={"api_key_id": key_id})


def _refuse(key: ApiKey, code: str) -> None:
    _audit(key.id, key.user_id, "refuse", code=code)
    db.session.commit()


def _audit(key_id: str, user_id: str, action: str, code: str | None = None) -> None:
    event = ApiKeyEvent(key_id=key_id, user_id=user_id, action=action, at=utcnow(), code=code)
    if has_request_context():
        event.method = request.method[:8]
        event.path = request.path[:300]
        event.address = (request.remote_addr or "")[:64] or None
    db.session.add(event)


def purge_events(cutoff: datetime, dry_run: bool) -> dict[str, int]:
    """Retention: key uses and refusals older than the cutoff (creations and revocations stay
    as long as their key)."""
    old = (ApiKeyEvent.at < cutoff) & ApiKeyEvent.action.in_(("use", "refuse"))
    if dry_run:
        count = db.session.execute(select(func.count()).select_from(ApiKeyEvent).where(old)).scalar_one()
    else:
        count = db.session.execute(delete(ApiKeyEvent).where(old)).rowcount or 0
        db.session.commit()
    return {"api_key_events": count}


def init_app(app: Flask) -> None:
    """Key uses and refusals are kept as long as other data (PURGE_RETENTION_H)."""
    hooks.of(app).purge.append(purge_events)
