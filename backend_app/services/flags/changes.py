"""Changing flags: every change is one transaction with its audit row, then published."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import current_app
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from backend_app.errors import NotFound, ValidationError
from backend_app.extensions import db
from backend_app.models import Flag, FlagAudit
from backend_app.models.base import utcnow
from backend_app.services.flags import pins, window
from backend_app.services.flags.state import publish_change, snapshot

log = logging.getLogger(__name__)
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_REASON = 500
FLAG_CHANGES = Counter(
    "framewise_flag_changes_total", "Flag changes by flag and action (update, rollback, guard)", ["flag", "action"]
)


def _check_key(key: str) -> None:
    if not KEY_RE.match(key):
        raise ValidationError(
            "A flag key is 1-64 lower-case letters, digits, '_', '.' or '-'.",
            code="FLAG_KEY_INVALID",
            details={"fields": {"key": "invalid"}},
        )


def _integral(value: Any) -> bool:
    """An integer as JSON Schema counts them (the OpenAPI document says integer): 30 and 30.0, not true."""
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))


def validate_change(enabled: Any, rollout_percent: Any, description: Any = None, reason: Any = None) -> None:
    """Reject anything but a boolean, an integer 0..100 and short strings, naming each bad field."""
    errors = {
        name: "is required"
        for name, value in (("enabled", enabled), ("rollout_percent", rollout_percent))
        if value is None
    }
    if enabled is not None and not isinstance(enabled, bool):
        errors["enabled"] = "must be true or false"
    if rollout_percent is not None and (not _integral(rollout_percent) or not 0 <= rollout_percent <= 100):
        errors["rollout_percent"] = "must be an integer from 0 to 100"
    for name, value in (("description", description), ("reason", reason)):
        if value is not None and (not isinstance(value, str) or len(value) > MAX_REASON):
            errors[name] = f"must be a string of at most {MAX_REASON} characters"
    if errors:
        raise ValidationError("Some fields are missing or invalid.", code="FLAG_INVALID", details={"fields": errors})


def list_flags() -> list[Flag]:
    snapshot()  # seeds use_v2 on a fresh database
    return list(db.session.execute(select(Flag).order_by(Flag.key)).scalars())


def get_flag(key: str) -> Flag:
    snapshot()
    flag = db.session.get(Flag, key)
    if flag is None:
        raise NotFound(f"There is no flag {key!r}.", code="FLAG_NOT_FOUND")
    return flag


def audit_log(key: str, limit: int = 100) -> list[FlagAudit]:
    """The flag's changes, newest first."""
    get_flag(key)
    query = select(FlagAudit).where(FlagAudit.flag_key == key).order_by(FlagAudit.id.desc()).limit(limit)
    return list(db.session.execute(query).scalars())


def _apply(
    session: Session, flag: Flag, changes: dict[str, Any], *, actor: str, action: str, reason: str
) -> FlagAudit | None:
    before = flag.state() if flag.updated_at else None
    for name, value in changes.items():
        setattr(flag, name, value)
    after = flag.state()
    if before == after:
        return None
    flag.updated_by, flag.updated_at = actor, utcnow()
    audit = FlagAudit(
        flag_key=flag.key,
        actor=actor,
        action=action,
        at=flag.updated_at,
        before=before,
        after=after,
        reason=reason[:MAX_REASON],
    )
    session.add(audit)
    return audit


def set_flag(
    key: str,
    *,
    enabled: bool,
    rollout_percent: int | None,
    actor: str,
    description: str | None = None,
    reason: str | None = None,
) -> tuple[Flag, bool]:
    """Create or change a flag; returns (flag, changed). Unchanged values write no audit row.
    A field the environment pins cannot be moved away from its pin (``pins.FlagPinned``, 409).

    Without ``rollout_percent`` an existing flag keeps its own: turning it back on after a
    rollback restores the same canary percentage. A new flag needs one.
    """
    _check_key(key)
    snapshot()
    flag = db.session.get(Flag, key)
    if rollout_percent is None and flag is not None:
        rollout_percent = flag.rollout_percent
    validate_change(enabled, rollout_percent, description, reason)
    pins.check_change(current_app.config["SETTINGS"], key, {"enabled": enabled, "rollout_percent": rollout_percent})
    if flag is None:
        flag = Flag(key=key, description="", enabled=False, rollout_percent=0)
        db.session.add(flag)
    changes: dict[str, Any] = {"enabled": enabled, "rollout_percent": int(rollout_percent)}  # 30.0 is 30
    if description is not None:
        changes["description"] = description.strip()
    audit = _apply(db.session, flag, changes, actor=actor, action="update", reason=(reason or "").strip())
    db.session.commit()
    if audit is not None:
        if flag.enabled and not (audit.before or {}).get("enabled"):
            window.reset(flag.key)  # turned on again: the guard starts from a clean window
        _changed(flag, audit)
    return flag, audit is not None


def rollback(key: str, *, actor: str, reason: str, action: str = "rollback") -> tuple[Flag, bool]:
    """Turn a flag off in one step (the rollout percentage is kept for when it is turned on again).

    Also when the environment pins the flag on: turning v2 off is the safe direction in an
    emergency; the pin applies again at the next start."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise ValidationError(
            "Say why you roll back (1-500 characters).",
            code="FLAG_INVALID",
            details={"fields": {"reason": "is required"}},
        )
    # A session of its own: the guard calls this at the end of somebody else's request.
    with Session(db.engine, expire_on_commit=False) as session:
        flag = session.get(Flag, key, with_for_update=True)
        if flag is None:
            raise NotFound(f"There is no flag {key!r}.", code="FLAG_NOT_FOUND")
        audit = _apply(session, flag, {"enabled": False}, actor=actor, action=action, reason=reason.strip())
        session.commit()
    stale = db.session.identity_map.get(identity_key(Flag, key))
    if stale is not None:
        db.session.expire(stale)  # the caller's session re-reads what this one wrote
    if audit is not None:
        _changed(flag, audit)
    return flag, audit is not None


def _changed(flag: Flag, audit: FlagAudit) -> None:
    publish_change()
    FLAG_CHANGES.labels(flag.key, audit.action).inc()
    log.warning(
        "flag changed",
        extra={
            "flag": flag.key,
            "actor": audit.actor,
            "action": audit.action,
            "enabled": flag.enabled,
            "rollout_percent": flag.rollout_percent,
            "reason": audit.reason,
        },
    )
