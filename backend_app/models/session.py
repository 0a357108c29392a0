"""A session: a user's named collection (one upload session, one project)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow


class Session(db.Model):
    __tablename__ = "sessions"

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(String(200), nullable=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    def to_dict(self) -> dict:
        return session_dict(self)


def session_dict(session) -> dict:
    """A session as the API shows it, from the model or from a row with the same columns."""
    return {"id": session.id, "name": session.name, "created_at": iso(session.created_at)}
