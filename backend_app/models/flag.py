"""Feature flags and their audit trail (who changed what, when, from what, why)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, iso, utcnow

# What an audit row records: a change through the API/CLI, a one-step rollback, the
# automatic guard's rollback, the first-start seed, or an operator pin from FEATURE_FLAG_USE_V2/CANARY_PERCENT
ACTIONS = ("seed", "update", "rollback", "guard", "pin")


class Flag(db.Model):
    __tablename__ = "flags"
    __table_args__ = (CheckConstraint("rollout_percent >= 0 AND rollout_percent <= 100", name="rollout_percent_range"),)

    key = db.Column(String(64), primary_key=True)
    description = db.Column(String(500), nullable=False, default="")
    enabled = db.Column(Boolean, nullable=False, default=False)
    rollout_percent = db.Column(Integer, nullable=False, default=0)
    # A user id, or "guard" / "seed" / "cli" for changes no signed-in user made.
    updated_by = db.Column(String(64), nullable=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    def state(self) -> dict:
        """The part of a flag an audit row snapshots."""
        return {"enabled": self.enabled, "rollout_percent": self.rollout_percent, "description": self.description}

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "description": self.description,
            "enabled": self.enabled,
            "rollout_percent": self.rollout_percent,
            "updated_by": self.updated_by,
            "updated_at": iso(self.updated_at),
        }


class FlagAudit(db.Model):
    __tablename__ = "flag_audit"

    # An increasing integer: "the latest change" is the highest id, even when timestamps tie.
    id = db.Column(Integer, primary_key=True, autoincrement=True)
    flag_key = db.Column(String(64), nullable=False, index=True)
    actor = db.Column(String(64), nullable=False)
    action = db.Column(String(16), nullable=False, default="update")
    at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    before = db.Column(JSON, nullable=True)
    after = db.Column(JSON, nullable=False)
    reason = db.Column(String(500), nullable=False, default="")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "flag_key": self.flag_key,
            "actor": self.actor,
            "action": self.action,
            "at": iso(self.at),
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }
