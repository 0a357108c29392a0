"""Per-user quota overrides: an admin's exceptions to the USER_* defaults."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, utcnow

QUOTA_FIELDS = ("storage_bytes", "uploads_per_hour", "concurrent_jobs")


class UserQuota(db.Model):
    """One user's limits; a None column means the setting's default applies."""

    __tablename__ = "user_quotas"

    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    storage_bytes = db.Column(BigInteger, nullable=True)
    uploads_per_hour = db.Column(Integer, nullable=True)
    concurrent_jobs = db.Column(Integer, nullable=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
