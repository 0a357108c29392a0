"""Per-shot text documents: what the video analysis writes and chat searches.

The video job writes one row per shot (idempotently: a re-run replaces its own rows); the
search index (SQLite FTS5 / PostgreSQL full-text) is built over these rows.
"""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, utcnow


class ShotDocument(db.Model):
    __tablename__ = "shot_documents"
    __table_args__ = (UniqueConstraint("analysis_id", "shot_index", name="uq_shot_documents_analysis_shot"),)

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    analysis_id = db.Column(String(32), nullable=False, index=True)
    shot_index = db.Column(Integer, nullable=False)
    start_s = db.Column(Float, nullable=False)
    end_s = db.Column(Float, nullable=False)
    title = db.Column(String(300), nullable=False, default="")
    text = db.Column(Text, nullable=False)
    keyframe_key = db.Column(String(300), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    def to_dict(self) -> dict:
        return {
            "analysis_id": self.analysis_id,
            "shot": self.shot_index,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "title": self.title,
            "text": self.text,
        }
