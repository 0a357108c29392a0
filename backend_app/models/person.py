"""A person the faces analyser found in one analysis, with their face embedding: the user's own data.

One row per person per analysis (a re-run replaces its analysis's rows). ``user_person`` is the
key the same face keeps across one user's videos: a person in a new video who matches one in the
same user's earlier video gets that person's key. The embedding (128 float32, 512 bytes) never
leaves the user's scope: the matching query is filtered by ``user_id`` in SQL, and no API response
carries it (the account export, to the user themselves, does). Rows go with their analysis
(deleted with it, by retention too) and with their account (``user_id`` cascade).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, utcnow


class Person(db.Model):
    __tablename__ = "people"
    __table_args__ = (
        UniqueConstraint("analysis_id", "person_id", name="uq_people_analysis_person"),
        Index("ix_people_user_person", "user_id", "user_person"),
    )

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    analysis_id = db.Column(String(32), ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False, index=True)
    person_id = db.Column(String(16), nullable=False)  # the report's id ("p1"), per analysis
    label = db.Column(String(40), nullable=False)
    user_person = db.Column(String(32), nullable=False)  # the same key across the user's videos
    embedding = db.Column(LargeBinary, nullable=False)
    face_key = db.Column(String(300), nullable=True)  # the stored face crop
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
