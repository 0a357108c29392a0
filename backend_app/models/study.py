"""Study material made from a document (or from all of a session's documents) and each user's
flashcard reviews.

One ``StudyMaterial`` row per document (``document_id`` set) or per session (``document_id``
null), held to that by the unique ``target_key``; a new request for the same target updates it. ``content_hash`` is the hash of the pages'
text with the provider and model (``services/study/build.cache_key``): a request whose hash
matches a completed row answers from it. ``data`` is the material in the API's shape
``{summary, key_terms, flashcards, quiz}``; in a session's material every item also names the
``document_id`` its page belongs to.

``FlashcardReview`` is one user's Leitner box for one card (``card_key``: a hash of its
question and answer, so a card made again from unchanged text keeps its box).
"""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow

SCOPES = ("document", "session")


def target_key(scope: str, target_id: str) -> str:
    return f"{scope}:{target_id}"


class StudyMaterial(db.Model):
    __tablename__ = "study_materials"

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    document_id = db.Column(String(32), ForeignKey("documents.id", ondelete="CASCADE"), nullable=True, index=True)
    scope = db.Column(String(16), nullable=False)  # one of SCOPES
    target_key = db.Column(String(60), nullable=False, unique=True)  # "<scope>:<id>": one row per target
    job_id = db.Column(String(32), ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True, unique=True)
    content_hash = db.Column(String(64), nullable=False, index=True)
    provider = db.Column(String(16), nullable=True)  # who made ``data``: offline | openai
    model = db.Column(String(100), nullable=True)
    fallback = db.Column(JSON, nullable=True)  # {code, message} when the model's answer was not used
    dropped = db.Column(Integer, nullable=False, default=0)  # model items citing a page without their answer
    page_count = db.Column(Integer, nullable=False, default=0)
    data = db.Column(JSON, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    completed_at = db.Column(UTCDateTime, nullable=True)

    job = db.relationship("Job", lazy="joined")

    def state(self) -> dict:
        job = self.job
        if job is None:
            status = "completed" if self.data is not None else "failed"
            return {"status": status, "stage": None, "progress": 100 if self.data is not None else 0,
                    "error_code": None if self.data is not None else "JOB_MISSING"}  # fmt: skip
        return {"status": job.status, "stage": job.stage, "progress": job.progress or 0, "error_code": job.error_code}

    def to_dict(self) -> dict:
        data = self.data or {}
        return {
            "id": self.id,
            "scope": self.scope,
            "document_id": self.document_id,
            "session_id": self.session_id,
            **self.state(),
            "job_id": self.job_id,
            "provider": self.provider,
            "model": self.model,
            "fallback": self.fallback,
            "page_count": self.page_count,
            "summary": data.get("summary", ""),
            "key_terms": data.get("key_terms", []),
            "flashcards": data.get("flashcards", []),
            "quiz": data.get("quiz", []),
            "created_at": iso(self.created_at),
            "completed_at": iso(self.completed_at),
        }


class FlashcardReview(db.Model):
    __tablename__ = "flashcard_reviews"
    __table_args__ = (UniqueConstraint("user_id", "material_id", "card_key", name="uq_flashcard_reviews_card"),)

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    material_id = db.Column(
        String(32), ForeignKey("study_materials.id", ondelete="CASCADE"), nullable=False, index=True
    )
    card_key = db.Column(String(64), nullable=False)
    box = db.Column(Integer, nullable=False, default=1)  # Leitner box, 1 (every time) … 5 (rarely)
    interval_days = db.Column(Integer, nullable=False, default=0)
    reviews = db.Column(Integer, nullable=False, default=0)
    lapses = db.Column(Integer, nullable=False, default=0)
    due_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    reviewed_at = db.Column(UTCDateTime, nullable=True)

    def to_dict(self) -> dict:
        return {
            "card_key": self.card_key,
            "box": self.box,
            "interval_days": self.interval_days,
            "reviews": self.reviews,
            "lapses": self.lapses,
            "due_at": iso(self.due_at),
            "reviewed_at": iso(self.reviewed_at),
        }
