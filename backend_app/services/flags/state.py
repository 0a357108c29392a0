"""Each process's view of the flags, kept fresh within a fraction of a second.

Every change bumps a version token in Redis (``framewise:flags:version``). A process
checks that token at most every ``POLL_S`` (one Redis GET), and re-reads the flag table
only when it changed, so a change or a rollback reaches every gunicorn worker and every
RQ worker in well under a second without a restart. If Redis cannot be reached the
process keeps its last known state and polls the table directly (at most once a second)
until Redis answers again; if the database is unreachable too, the last known state
stands. A bump can also be lost without this process noticing (the change was made while
Redis was down, and Redis came back with the old token before this process looked): so once
a second it also asks the database for its own version, the newest audit row's id (every
change writes one), and re-reads when that moved. A full re-read every ``MAX_AGE_S`` stays.

The first load creates ``use_v2`` when the row does not exist yet (off, 0 %, unless the
environment pins it; audited as "seed"). FEATURE_FLAG_USE_V2 / CANARY_PERCENT, when set, are
operator pins (``pins.py``): each process's first read writes them over the stored flag
(audited as "pin" when that changes it); unset, the table is the only truth.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from redis.exceptions import RedisError
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from backend_app.extensions import db, redis_store
from backend_app.models import Flag, FlagAudit
from backend_app.models.base import utcnow
from backend_app.services.flags import pins

log = logging.getLogger(__name__)

USE_V2 = "use_v2"
VERSION_KEY = "framewise:flags:version"
POLL_S = 0.2  # how often a process asks Redis whether anything changed
REDIS_DOWN_POLL_S = 1.0  # while Redis is unreachable: how often to read the table directly
DB_POLL_S = 1.0  # how often a process compares the database's own version (newest audit id)
MAX_AGE_S = 30.0  # re-read regardless


@dataclass(frozen=True)
class FlagView:
    """A flag as one process sees it, with the last change that touched it."""

    key: str
    enabled: bool
    rollout_percent: int
    description: str = ""
    last_action: str | None = None
    last_actor: str | None = None
    last_reason: str = ""
    last_at: datetime | None = None

    @property
    def rolled_back(self) -> bool:
        return not self.enabled and self.last_action in ("rollback", "guard")


_UNREACHABLE = object()


class FlagCache:
    """The flags of one app in one process; thread-safe, refreshed lazily on read."""

    def __init__(self) -> None:
        self.flags: dict[str, FlagView] = {}
        self.version: Any = None
        self.audit_version: Any = None
        self.loaded_at = 0.0
        self.next_check = 0.0
        self.next_db_check = 0.0
        self.failing = False
        self.pinned = False  # the environment's pins written over the stored flags (once per process)
        self._lock = threading.Lock()

    def get(self, app: Flask) -> dict[str, FlagView]:
        now = time.monotonic()
        if now < self.next_check:
            return self.flags
        with self._lock:
            if time.monotonic() < self.next_check:
                return self.flags
            self._refresh(app, time.monotonic())
        return self.flags

    def _refresh(self, app: Flask, now: float) -> None:
        try:
            version = app.extensions["redis"].get(VERSION_KEY)
            self.next_check = now + POLL_S
        except RedisError:
            version = _UNREACHABLE
            self.next_check = now + REDIS_DOWN_POLL_S
        stale = now - self.loaded_at > MAX_AGE_S
        audit_version, moved = None, False
        if now >= self.next_db_check:
            self.next_db_check = now + DB_POLL_S
            audit_version = _audit_version()
            moved = audit_version not in (self.audit_version, _UNREACHABLE)
        if version is _UNREACHABLE or version != self.version or stale or moved or not self.loaded_at:
            if audit_version is None:  # not asked this round: read before the flags, so a later change shows
                audit_version = _audit_version()
            if self._reload(app):
                self.version, self.loaded_at, self.audit_version = version, now, audit_version

    def _reload(self, app: Flask) -> bool:
        try:
            if not self.pinned:
                apply_pins(app)
                self.pinned = True
            self.flags = read_flags(app)
        except SQLAlchemyError as exc:
            if not self.failing:
                log.warning("flags unreadable; keeping the last known state", extra={"error": str(exc)[:200]})
            self.failing = True
            return False
        self.failing = False
        return True

    def invalidate(self) -> None:
        self.next_check = 0.0
        self.version = _UNREACHABLE


def _audit_version() -> Any:
    """The database's flags version: the newest audit row's id (every change writes one)."""
    try:
        with db.engine.connect() as conn:
            return conn.execute(select(func.max(FlagAudit.id))).scalar()
    except SQLAlchemyError:
        return _UNREACHABLE


def cache(app: Flask | None = None) -> FlagCache:
    app = app or current_app._get_current_object()
    return app.extensions.setdefault("flags_cache", FlagCache())


def snapshot() -> dict[str, FlagView]:
    """This process's current view of every flag (fresh within POLL_S)."""
    app = current_app._get_current_object()
    return cache(app).get(app)


def read_flags(app: Flask) -> dict[str, FlagView]:
    """Read every flag and its latest audit entry on a connection of its own (never a stale snapshot)."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(Flag.key, Flag.enabled, Flag.rollout_percent, Flag.description)).all()
        if not any(r.key == USE_V2 for r in rows):
            conn.rollback()
            _seed(app)
            rows = conn.execute(select(Flag.key, Flag.enabled, Flag.rollout_percent, Flag.description)).all()
        views = {}
        for row in rows:
            last = conn.execute(
                select(FlagAudit.action, FlagAudit.actor, FlagAudit.reason, FlagAudit.at)
                .where(FlagAudit.flag_key == row.key)
                .order_by(FlagAudit.id.desc())
                .limit(1)
            ).first()
            views[row.key] = FlagView(
                row.key,
                bool(row.enabled),
                int(row.rollout_percent),
                row.description or "",
                *(tuple(last) if last else (None, None, "", None)),
            )
        return views


def _seed(app: Flask) -> None:
    """Create ``use_v2`` (off, or as the environment pins it); a concurrent seeder wins harmlessly."""
    found = pins.pins(app.config["SETTINGS"], USE_V2)
    state = {
        "enabled": False,
        "rollout_percent": 0,
        "description": "Route the canary share of users to the v2 code paths.",
        **{pin.field: pin.value for pin in found},
    }
    now = utcnow()
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(Flag).values(key=USE_V2, updated_by="seed", updated_at=now, **state))
            conn.execute(
                insert(FlagAudit).values(
                    flag_key=USE_V2,
                    actor="seed",
                    action="seed",
                    at=now,
                    before=None,
                    after=state,
                    reason="created on first start" + (f", {pins.describe(found)}" if found else ""),
                )
            )
    except IntegrityError:
        return
    log.info("flag seeded", extra={"flag": USE_V2, **state})


def apply_pins(app: Flask) -> bool:
    """Write the environment's pins over the stored flags; True when that changed a flag.

    A compare-and-set on the values read, so processes starting together write (and audit) the
    change once; a flag that does not exist yet is created with the pins (``_seed``)."""
    changed = False
    for key in pins.PINNABLE:
        found = pins.pins(app.config["SETTINGS"], key)
        if found and _pin(key, found):
            changed = True
    if changed:
        try:
            app.extensions["redis"].set(VERSION_KEY, uuid.uuid4().hex)  # the other processes re-read
        except RedisError:
            pass  # they compare the newest audit id within DB_POLL_S
    return changed


def _pin(key: str, found: list[pins.Pin]) -> bool:
    columns = (Flag.enabled, Flag.rollout_percent, Flag.description)
    with db.engine.begin() as conn:
        row = conn.execute(select(*columns).where(Flag.key == key)).first()
        if row is None:
            return False
        before = {
            "enabled": bool(row.enabled),
            "rollout_percent": int(row.rollout_percent),
            "description": row.description,
        }
        wanted = {pin.field: pin.value for pin in found}
        after = {**before, **wanted}
        if after == before:
            return False
        now = utcnow()
        done = conn.execute(
            update(Flag)
            .where(Flag.key == key, Flag.enabled == row.enabled, Flag.rollout_percent == row.rollout_percent)
            .values(**wanted, updated_by=pins.ACTOR, updated_at=now)
        ).rowcount
        if done != 1:
            return False  # another process pinned it first
        reason = pins.describe(found) + ": the operator's setting wins over the stored flag at every start"
        conn.execute(
            insert(FlagAudit).values(
                flag_key=key, actor=pins.ACTOR, action="pin", at=now, before=before, after=after, reason=reason
            )
        )
    log.warning("flag pinned by environment", extra={"flag": key, "before": before, "after": after})
    return True


def publish_change() -> None:
    """Tell every process that the flags changed (they re-read within POLL_S)."""
    cache().invalidate()
    for attempt in range(3):
        try:
            redis_store.conn.set(VERSION_KEY, uuid.uuid4().hex)
            return
        except RedisError:
            time.sleep(0.05 * (attempt + 1))
    log.warning("could not publish a flag change to Redis; other processes pick it up within %ss", DB_POLL_S)
