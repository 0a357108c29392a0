"""A document: one uploaded file of text (PDF, DOCX, PPTX, ODT, Markdown, text, a page image)
in a session, and its pages as the extraction job found them.

The job row (``job_id``) is the truth about the extraction while it runs; the document keeps
``status``, ``stage``, ``progress`` and the error in step with it (the extraction writes both
in one commit) so lists and other features can filter on them without a join, and
``to_dict`` reads the job's values when there is a job. Storage keys come from ids, never
from the filename: ``users/<user_id>/documents/<document_id>/…`` (the source, then
``pages/<n>.png`` thumbnails).

Pages count from 1 (``DocumentPage.number``), as every human label does.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow

KINDS = ("pdf", "docx", "pptx", "odt", "markdown", "text", "image")


def document_prefix(user_id: str, document_id: str) -> str:
    """The storage prefix under which every object of one document lives."""
    return f"users/{user_id}/documents/{document_id}/"


class Document(db.Model):
    __tablename__ = "documents"

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    job_id = db.Column(String(32), ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True, unique=True)
    filename = db.Column(String(255), nullable=False)  # shown to the user only; never a storage path
    content_type = db.Column(String(100), nullable=False)
    kind = db.Column(String(16), nullable=False)  # one of KINDS
    size_bytes = db.Column(BigInteger, nullable=False)  # declared at init, measured at complete
    sha256 = db.Column(String(64), nullable=True)
    storage_key = db.Column(String(300), nullable=False)
    status = db.Column(String(20), nullable=False, default="pending_upload", index=True)
    stage = db.Column(String(40), nullable=True)
    progress = db.Column(Integer, nullable=False, default=0)
    page_count = db.Column(Integer, nullable=True)
    language = db.Column(String(16), nullable=True)  # the most common page language
    error_code = db.Column(String(60), nullable=True)
    error_message = db.Column(Text, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    completed_at = db.Column(UTCDateTime, nullable=True)

    job = db.relationship("Job", lazy="joined")

    @property
    def prefix(self) -> str:
        return document_prefix(self.user_id, self.id)

    def state(self) -> dict:
        """Status, stage, progress and error: the job's while there is one, else the row's own."""
        job = self.job
        source = job if job is not None else self
        return {
            "status": source.status,
            "stage": source.stage,
            "progress": source.progress or 0,
            "error_code": source.error_code,
            "error_message": source.error_message,
        }

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "document_id": self.id,
            "session_id": self.session_id,
            "filename": self.filename,
            "content_type": self.content_type,
            "kind": self.kind,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            **self.state(),
            "page_count": self.page_count,
            "language": self.language,
            "created_at": iso(self.created_at),
            "completed_at": iso(self.completed_at),
        }


class DocumentPage(db.Model):
    """One page of a document: a PDF page, a slide, a DOCX section, a page image."""

    __tablename__ = "document_pages"
    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_document_pages_document_number"),)

    id = id_column()
    document_id = db.Column(String(32), ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True)
    number = db.Column(Integer, nullable=False)  # 1-based
    text = db.Column(Text, nullable=False, default="")
    words = db.Column(Integer, nullable=False, default=0)
    ocr = db.Column(Boolean, nullable=False, default=False)
    language = db.Column(String(16), nullable=False, default="unknown")
    headings = db.Column(JSON, nullable=False, default=list)  # list[str], in reading order
    thumb_key = db.Column(String(300), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    def summary(self) -> dict:
        """What the document's status lists per page."""
        return {"number": self.number, "words": self.words, "ocr": self.ocr, "language": self.language}

    def to_dict(self) -> dict:
        return {
            "document_id": self.document_id,
            **self.summary(),
            "headings": list(self.headings or []),
            "text": self.text,
            "has_thumbnail": bool(self.thumb_key),
        }
