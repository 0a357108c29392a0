"""Requirement batches and their per-row results.

Requirement text is never stored: a result row keeps the text's SHA-256, the scores and the
findings (rule ids and character spans, never the matched words). The batch's input lives
in Redis only while the batch runs.
"""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint

from backend_app.extensions import db
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow


class RequirementBatch(db.Model):
    __tablename__ = "requirement_batches"

    id = id_column()
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True, index=True)
    job_id = db.Column(String(32), ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True, unique=True)
    mode = db.Column(String(16), nullable=False)  # evaluate | suggest | rewrite
    variant = db.Column(String(8), nullable=False)  # decided at submission, used by the worker
    criteria_keys = db.Column(JSON, nullable=False, default=list)
    source = db.Column(String(20), nullable=False)  # body | json | file | default_path
    total_rows = db.Column(Integer, nullable=False, default=0)  # accepted rows, to be evaluated
    done_rows = db.Column(Integer, nullable=False, default=0)
    failed_rows = db.Column(Integer, nullable=False, default=0)
    v2_fallbacks = db.Column(Integer, nullable=False, default=0)
    rejected = db.Column(JSON, nullable=False, default=list)  # [{line, code, message, row_id}]
    summary = db.Column(JSON, nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    finished_at = db.Column(UTCDateTime, nullable=True)

    job = db.relationship("Job", lazy="joined")

    def to_dict(self) -> dict:
        job = self.job
        return {
            "id": self.id,
            "batch_id": self.id,
            "session_id": self.session_id,
            "mode": self.mode,
            "variant": self.variant,
            "criteria": self.criteria_keys,
            "source": self.source,
            "status": job.status if job else "failed",
            "stage": job.stage if job else None,
            "progress": job.progress if job else 0,
            "error_code": job.error_code if job else "JOB_MISSING",
            "error_message": job.error_message if job else None,
            "total_rows": self.total_rows,
            "done_rows": self.done_rows,
            "failed_rows": self.failed_rows,
            "v2_fallbacks": self.v2_fallbacks,
            "rejected_rows": len(self.rejected or []),
            "rejected": self.rejected or [],
            "summary": self.summary,
            "created_at": iso(self.created_at),
            "finished_at": iso(self.finished_at),
        }


class RequirementResult(db.Model):
    __tablename__ = "requirement_results"
    __table_args__ = (UniqueConstraint("batch_id", "row_index"),)

    id = id_column()
    batch_id = db.Column(
        String(32), ForeignKey("requirement_batches.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True, index=True)
    row_index = db.Column(Integer, nullable=False)
    row_key = db.Column(String(100), nullable=False)  # the table's id column, e.g. "REQ-001"
    line = db.Column(Integer, nullable=False)
    text_sha256 = db.Column(String(64), nullable=False, index=True)
    status = db.Column(String(16), nullable=False)  # ok | failed
    language = db.Column(String(2), nullable=True)
    variant = db.Column(String(8), nullable=True)
    engine = db.Column(String(80), nullable=True)
    fallback_code = db.Column(String(40), nullable=True)
    overall = db.Column(Integer, nullable=True)
    scores = db.Column(JSON, nullable=True)
    findings = db.Column(JSON, nullable=True)  # rule ids, spans, severities; never the words
    rewrite_sha256 = db.Column(String(64), nullable=True)
    error_code = db.Column(String(60), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    def to_dict(self) -> dict:
        return {
            "row_index": self.row_index,
            "id": self.row_key,
            "line": self.line,
            "text_sha256": self.text_sha256,
            "status": self.status,
            "language": self.language,
            "variant": self.variant,
            "engine": self.engine,
            "fallback_code": self.fallback_code,
            "overall": self.overall,
            "scores": self.scores,
            "findings": self.findings or [],
            "rewrite_sha256": self.rewrite_sha256,
            "error_code": self.error_code,
        }
