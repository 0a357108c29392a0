"""Chat history: one row per message, in the thread of one user and one scope.

A thread is (user, session): ``session_id`` None is the "all my videos" thread. Deleting a
session deletes its thread (FK cascade); erasure finds the rows by ``user_id``.
"""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Index, String, Text

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow

ROLES = ("user", "assistant")


class ChatMessage(db.Model):
    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_thread", "user_id", "session_id", "created_at"),)

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True, index=True)
    role = db.Column(String(16), nullable=False)
    content = db.Column(Text, nullable=False)
    # Assistant messages: [{analysis_id, shot, start_s, end_s, snippet, filename, session_id}]; rows from
    # before issue 20 also hold keyframe_url, which the API now sets itself
    citations = db.Column(JSON, nullable=True)
    provider = db.Column(String(20), nullable=True)  # offline | openai
    notice = db.Column(String(40), nullable=True)  # e.g. BUDGET_EXCEEDED when the answer fell back
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "session_id": self.session_id,
            "role": self.role,
            "content": self.content,
            "citations": self.citations or [],
            "provider": self.provider,
            "notice": {"code": self.notice} if self.notice else None,  # same shape as the answer's notice
            "created_at": iso(self.created_at),
        }
