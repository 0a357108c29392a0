"""The job row: the truth about every piece of background work."""

from __future__ import annotations

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text

from backend_app.extensions import db
from backend_app.failure_codes import why_not
from backend_app.models.base import UTCDateTime, id_column, iso, utcnow

PENDING_UPLOAD, QUEUED, RUNNING, COMPLETED, FAILED, CANCELED = (
    "pending_upload",
    "queued",
    "running",
    "completed",
    "failed",
    "canceled",
)
STATUSES = (PENDING_UPLOAD, QUEUED, RUNNING, COMPLETED, FAILED, CANCELED)
FINISHED = (COMPLETED, FAILED, CANCELED)
REFUSED_AT = "upload"  # the stage of a job whose upload was refused (and its file deleted)


class Job(db.Model):
    __tablename__ = "jobs"

    id = id_column()
    kind = db.Column(String(40), nullable=False, index=True)
    queue = db.Column(String(20), nullable=False, default="default")
    status = db.Column(String(20), nullable=False, default=QUEUED, index=True)
    stage = db.Column(String(40), nullable=True)
    progress = db.Column(Integer, nullable=False, default=0)
    attempts = db.Column(Integer, nullable=False, default=0)
    enqueue_attempts = db.Column(Integer, nullable=False, default=0)
    enqueue_last_error = db.Column(Text, nullable=True)
    error_code = db.Column(String(60), nullable=True)
    error_message = db.Column(Text, nullable=True)
    timings = db.Column(JSON, nullable=False, default=dict)
    payload = db.Column(JSON, nullable=False, default=dict)
    result = db.Column(JSON, nullable=True)
    size_hint = db.Column(Float, nullable=True)
    user_id = db.Column(String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True)
    session_id = db.Column(String(32), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True, index=True)
    worker_name = db.Column(String(120), nullable=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    enqueued_at = db.Column(UTCDateTime, nullable=True)
    queued_at = db.Column(UTCDateTime, nullable=True)  # when the row last entered `queued` (staleness clock)
    # When the row got one of its user's dispatch slots (queue/enqueue.py): a `queued` row without
    # it is held back in the database, with no RQ job, until an earlier job of the user finishes.
    dispatched_at = db.Column(UTCDateTime, nullable=True)
    started_at = db.Column(UTCDateTime, nullable=True)
    finished_at = db.Column(UTCDateTime, nullable=True)
    heartbeat_at = db.Column(UTCDateTime, nullable=True)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def log_ids(self) -> dict[str, str]:
        """The ids every log line of this job carries: whose it is and what it works on."""
        ids = {"user_id": self.user_id, "session_id": self.session_id}
        ids.update({name: (self.payload or {}).get(name) for name in ("analysis_id", "document_id", "batch_id")})
        return {name: value for name, value in ids.items() if value}

    @property
    def retryable(self) -> bool:
        """Failed or canceled, not refused at upload (that file was deleted: nothing to run again),
        and not with a code a retry cannot change (failure_codes: an admin may still force it)."""
        return self.forceable and why_not(self.error_code) is None

    @property
    def forceable(self) -> bool:
        """What an admin may retry with force: failed or canceled, with its input still there."""
        return self.status in (FAILED, CANCELED) and self.stage != REFUSED_AT

    @property
    def retry_note(self) -> str | None:
        """Why a retry cannot help (None when it can, or when the job has not ended)."""
        if self.status not in (FAILED, CANCELED):
            return None
        if self.stage == REFUSED_AT:
            return "the upload was refused and its file deleted: upload the file again"
        return why_not(self.error_code)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "queue": self.queue,
            "status": self.status,
            "stage": self.stage,
            "progress": self.progress,
            "attempts": self.attempts,
            "enqueue_attempts": self.enqueue_attempts,
            "enqueue_last_error": self.enqueue_last_error,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "retryable": self.retryable,
            "retry_note": self.retry_note,
            "timings": self.timings or {},
            "result": self.result,
            "user_id": self.user_id,
            "session_id": self.session_id,
            "created_at": iso(self.created_at),
            "enqueued_at": iso(self.enqueued_at),
            "queued_at": iso(self.queued_at),
            "dispatched_at": iso(self.dispatched_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "heartbeat_at": iso(self.heartbeat_at),
        }
