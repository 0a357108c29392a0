"""An analysis: one uploaded video in a session, its source object and its report.

The job row (``job_id``) carries status, stage, progress and errors; this row carries what
the user uploaded and what the analysis found. Storage keys are generated from ids, never
from the filename: ``users/<user_id>/analyses/<analysis_id>/…``.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, ForeignKey, String

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow


def analysis_prefix(user_id: str, analysis_id: str) -> str:
    """The storage prefix under which every object of one analysis lives."""
    return f"users/{user_id}/analyses/{analysis_id}/"


class Analysis(db.Model):
    __tablename__ = "analyses"

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    job_id = db.Column(String(32), ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True, unique=True)
    filename = db.Column(String(255), nullable=False)  # shown to the user only; never a storage path
    content_type = db.Column(String(100), nullable=False)
    declared_size = db.Column(BigInteger, nullable=False)
    file_size = db.Column(BigInteger, nullable=True)  # measured once the upload is complete
    sha256 = db.Column(String(64), nullable=True)
    storage_key = db.Column(String(300), nullable=False)
    video_metadata = db.Column(JSON, nullable=True)  # duration_s, fps, frame_count, width, height, codec…
    report = db.Column(JSON, nullable=True)
    contact_sheet_key = db.Column(String(300), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    completed_at = db.Column(UTCDateTime, nullable=True)

    job = db.relationship("Job", lazy="joined")

    @property
    def prefix(self) -> str:
        return analysis_prefix(self.user_id, self.id)

    def to_dict(self) -> dict:
        job = self.job
        return {
            "id": self.id,
            "analysis_id": self.id,
            "session_id": self.session_id,
            "filename": self.filename,
            "content_type": self.content_type,
            "file_size": self.file_size if self.file_size is not None else self.declared_size,
            "sha256": self.sha256,
            "metadata": self.video_metadata,
            "status": job.status if job else "pending_upload",
            "stage": job.stage if job else None,
            "progress": job.progress if job else 0,
            "error_code": job.error_code if job else None,
            "error_message": job.error_message if job else None,
            "retryable": job.retryable if job else False,
            "retry_note": job.retry_note if job else None,
            "attempts": job.attempts if job else 0,
            "created_at": iso(self.created_at),
            "completed_at": iso(self.completed_at),
        }
