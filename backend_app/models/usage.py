"""LLM usage: one row per call (chat, vision, requirements), with tokens and estimated cost."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow


class UsageRecord(db.Model):
    __tablename__ = "usage_records"

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True)
    purpose = db.Column(String(40), nullable=False)
    model = db.Column(String(120), nullable=False)
    prompt_tokens = db.Column(Integer, nullable=False, default=0)
    completion_tokens = db.Column(Integer, nullable=False, default=0)
    cost_usd = db.Column(Float, nullable=False, default=0.0)
    cached = db.Column(Boolean, nullable=False, default=False)
    outcome = db.Column(String(16), nullable=False, default="ok", server_default="ok")  # llm.OUTCOMES
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)

    def to_dict(self) -> dict:
        return {
            "purpose": self.purpose,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "cached": self.cached,
            "outcome": self.outcome,
            "created_at": iso(self.created_at),
        }
