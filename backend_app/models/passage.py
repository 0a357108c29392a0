"""Searchable passages beside the shot documents: what was said, what was on screen, document pages.

A passage is one transcript segment (``speech``), one on-screen text (``text``) of an analysis,
or one page of a document (``page``). Writers replace an owner's passages in the caller's
transaction (services/chat/passages.py); the search index (SQLite FTS5 ``passage_fts`` kept by
triggers, PostgreSQL GIN expression index) is built over these rows by migration 0011.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, utcnow

KINDS = ("speech", "text", "page")


class Passage(db.Model):
    __tablename__ = "passages"
    __table_args__ = (
        CheckConstraint("kind IN ('speech', 'text', 'page')", name="kind"),
        CheckConstraint("(analysis_id IS NULL) <> (document_id IS NULL)", name="one_source"),
    )

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = db.Column(String(8), nullable=False)
    analysis_id = db.Column(String(32), nullable=True, index=True)
    document_id = db.Column(String(32), nullable=True, index=True)
    position = db.Column(Integer, nullable=False, default=0)  # order within its source
    start_s = db.Column(Float, nullable=True)
    end_s = db.Column(Float, nullable=True)
    page = db.Column(Integer, nullable=True)  # 1-based
    filename = db.Column(String(255), nullable=False, default="")
    title = db.Column(String(500), nullable=False, default="")
    text = db.Column(Text, nullable=False)
    language = db.Column(String(16), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "text": self.text}
        if self.kind == "page":
            out.update(document_id=self.document_id, page=self.page)
        else:
            out.update(analysis_id=self.analysis_id, start_s=self.start_s, end_s=self.end_s)
        return out
