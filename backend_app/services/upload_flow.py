"""The steps every upload kind takes between its declaration and its queued job (videos in
services/video/uploads.py, documents in services/documents/uploads.py): the signed PUT link,
closing that link once the upload is no longer awaited, failing a refused upload, queueing the
job exactly once, and storing a one-request upload before its rows exist.

What differs between the kinds (their rows, their checks, their log lines) stays with them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Any, TypeVar

from flask import current_app
from sqlalchemy import select, update

from backend_app.adapters.storage import get_storage
from backend_app.errors import AppError, Conflict
from backend_app.extensions import db
from backend_app.models import Job
from backend_app.models.base import new_id, utcnow
from backend_app.models.job import CANCELED, FAILED, PENDING_UPLOAD, QUEUED, REFUSED_AT
from backend_app.queue.enqueue import create_job, enqueue
from backend_app.services import jobs

MB = 1024 * 1024

T = TypeVar("T")


def pending_job(kind: str, user_id: str, session_id: str, payload: dict[str, Any], size: int) -> Job:
    """The job row of a new upload: ``pending_upload`` until its bytes are checked."""
    return create_job(
        kind,
        user_id=user_id,
        session_id=session_id,
        payload=payload,
        status=PENDING_UPLOAD,
        size_hint=round(size / MB, 3),
        job_id=new_id(),
    )


def signed_upload(id_field: str, item_id: str, key: str, content_type: str, file_size: int) -> dict[str, Any]:
    """The answer to an init: a signed URL the client PUTs ``file_size`` bytes to."""
    expires_in = current_app.config["SETTINGS"].signed_url_ttl_s
    url, headers = get_storage().presign_put(key, content_type, expires_in, size=file_size)
    return {
        id_field: item_id,
        "upload_url": url,
        "method": "PUT",
        "headers": headers,
        "expires_in": expires_in,
    }


def check_upload_open(model: Any, key: str) -> None:
    """Refuse bytes for ``key`` unless the ``model`` row stored there still waits for them."""
    waiting = db.session.execute(
        select(Job.status).join(model, model.job_id == Job.id).where(model.storage_key == key)
    ).scalar_one_or_none()
    if waiting != PENDING_UPLOAD:
        raise AppError(
            "This upload link is closed: the upload was completed, refused or deleted. Start a new upload.",
            code="UPLOAD_CLOSED",
            status=409,
        )


def awaits_bytes(
    job: Job | None, noun: str, refusal: Callable[..., AppError], codes: Iterable[str], *, refused_only: bool = False
) -> bool:
    """Whether an upload's job still waits for its bytes; a refused upload's refusal is raised again.

    ``codes`` are the kind's refusal codes; with ``refused_only`` the job must also have failed at
    the upload (``stage`` REFUSED_AT) for its code to be replayed.
    """
    if job is None:
        raise AppError(f"This {noun} has no job.", code="JOB_NOT_FOUND", status=409)
    if job.status == FAILED and job.error_code in codes and (not refused_only or job.stage == REFUSED_AT):
        raise refusal(job.error_code, job.error_message or "The upload was refused.")
    return job.status == PENDING_UPLOAD


def checked(check: Callable[[], T], reject: Callable[[AppError], None]) -> T:
    """Run a stored-bytes check; a refusal the client cannot fix by uploading again goes to ``reject``.

    An incomplete upload is only raised: the link stays open for the rest of the bytes.
    """
    try:
        return check()
    except AppError as refusal:
        if refusal.code != "UPLOAD_INCOMPLETE":
            reject(refusal)
        raise


def read_stored(key: str, head_bytes: int) -> tuple[int | None, bytes]:
    """The stored object's size (None when nothing is there) and its first ``head_bytes``."""
    storage = get_storage()
    size = storage.size(key)
    return size, storage.read_head(key, head_bytes) if size else b""


def reject(job: Job, refusal: AppError, key: str, also: Iterable[Any] = ()) -> None:
    """Fail the job (and the rows in ``also``) with the refusal's code and drop the object at ``key``."""
    for row in (job, *also):
        row.status, row.error_code, row.error_message, row.stage = FAILED, refusal.code, refusal.message, REFUSED_AT
    job.finished_at = utcnow()
    db.session.commit()
    get_storage().delete(key)


def queue_once(job: Job, on_claimed: Callable[[], None] | None = None) -> bool:
    """Move the job from ``pending_upload`` to ``queued`` and enqueue it; whether this call did.

    Only one of two concurrent completes moves the row on, so the job is enqueued once.
    ``on_claimed`` changes other rows in the same commit.
    """
    claimed = db.session.execute(
        update(Job).where(Job.id == job.id, Job.status == PENDING_UPLOAD).values(status=QUEUED)
    ).rowcount
    if claimed and on_claimed is not None:
        on_claimed()
    db.session.commit()
    db.session.refresh(job)
    if claimed:
        enqueue(job)
    return bool(claimed)


def measure(stream: IO[bytes], head_bytes: int) -> tuple[int, bytes]:
    """A seekable stream's size and first ``head_bytes``; the stream is left at its start."""
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    head = stream.read(head_bytes)
    stream.seek(0)
    return size, head


def store_then_create(key: str, stream: IO[bytes], content_type: str, size: int, create: Callable[[], T]) -> T:
    """Stream the bytes to ``key``, then ``create`` the rows; the object goes if the rows fail."""
    get_storage().put_stream(key, stream, content_type, max_bytes=size)
    try:
        return create()
    except Exception:
        db.session.rollback()
        get_storage().delete(key)
        raise


def retry_upload_job(job: Job | None, key: str, what: str) -> None:
    """The owner's retry of the job of an uploaded ``what`` (video, document) that failed or was
    canceled: its uploaded file must still exist (services/jobs.py says which failures a retry
    can change: JOB_NOT_RETRYABLE otherwise)."""
    if job is None:
        raise Conflict(f"This {what} has no job to retry.", code="JOB_NOT_RETRYABLE")
    if job.status in (FAILED, CANCELED) and get_storage().size(key) is None:
        raise Conflict(f"The uploaded {what} is gone; upload it again.", code="SOURCE_MISSING")
    jobs.retry(job)
