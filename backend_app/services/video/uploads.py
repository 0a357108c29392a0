"""Uploads: from a declared file to a queued analysis job.

Two ways in. Direct: ``init`` checks the declaration, creates the Analysis and its job row
(``pending_upload``) and returns a signed URL the client PUTs the bytes to; ``complete``
checks the stored bytes and queues the job. Both ways check the user's quotas (services/quotas.py)
before anything is stored or queued. One-shot: the file comes in a multipart request,
is checked, streamed to storage and queued in one call. Refusals at complete (other than an
incomplete upload, which the client can still fix by uploading again) fail the job with their
code and delete the object, so nothing waits forever in ``pending_upload`` or ``queued``.
"""

from __future__ import annotations

import logging
from typing import IO, Any

from backend_app.errors import AppError
from backend_app.extensions import db
from backend_app.models import Analysis, Job
from backend_app.models.analysis import analysis_prefix
from backend_app.models.base import new_id
from backend_app.services import quotas, sessions, upload_flow
from backend_app.services.video import analyses
from backend_app.services.video import policy as video_policy
from backend_app.tenancy import Tenant

log = logging.getLogger(__name__)


def _source_key(user_id: str, analysis_id: str) -> str:
    return f"{analysis_prefix(user_id, analysis_id)}source"


def _create(
    tenant: Tenant, session_id: str, filename: str, content_type: str, size: int, analysis_id: str | None = None
) -> Analysis:
    """Add the Analysis row and its ``pending_upload`` job row, and commit them."""
    analysis_id = analysis_id or new_id()
    job = upload_flow.pending_job("video_analysis", tenant.user_id, session_id, {"analysis_id": analysis_id}, size)
    analysis = Analysis(
        id=analysis_id,
        user_id=tenant.user_id,
        session_id=session_id,
        job_id=job.id,
        filename=filename,
        content_type=content_type,
        declared_size=size,
        storage_key=_source_key(tenant.user_id, analysis_id),
    )
    db.session.add(analysis)
    db.session.commit()
    return analysis


def init(tenant: Tenant, *, filename: str, content_type: str, file_size: int, session_id: str) -> dict[str, Any]:
    """Check the declaration, create the analysis and hand out a signed upload URL."""
    session = sessions.get(tenant, session_id)
    filename = video_policy.clean_filename(filename)
    content_type = video_policy.check_declared(filename, content_type, file_size)
    quotas.check_upload(tenant.user_id, file_size)
    analysis = _create(tenant, session.id, filename, content_type, file_size)
    answer = upload_flow.signed_upload("analysis_id", analysis.id, analysis.storage_key, content_type, file_size)
    log.info("upload initiated", extra={"analysis_id": analysis.id, "file_size": file_size})
    return answer


def check_upload_open(key: str) -> None:
    """Refuse bytes for ``key`` unless its analysis still waits for them (``pending_upload``).

    A signed upload link lives SIGNED_URL_TTL_S; without this, it could replace a completed
    upload's checked bytes or write an object back after the analysis (or the account) was
    deleted, where nothing would ever remove it. (S3's presigned links cannot be recalled:
    there the worker checks the bytes it fetches anyway.)
    """
    upload_flow.check_upload_open(Analysis, key)


def _reject(analysis: Analysis, job: Job, refusal: AppError) -> None:
    """Fail the job with the refusal's code and drop the unusable object."""
    upload_flow.reject(job, refusal, analysis.storage_key)
    log.info("upload refused", extra={"analysis_id": analysis.id, "error_code": refusal.code})


def complete(tenant: Tenant, analysis_id: str) -> Analysis:
    """Check the stored bytes and queue the analysis; calling it again changes nothing."""
    analysis = analyses.get(tenant, analysis_id)
    job = analysis.job
    if not upload_flow.awaits_bytes(job, "analysis", video_policy.refusal, video_policy.STATUS_BY_CODE):
        return analysis
    size, head = upload_flow.read_stored(analysis.storage_key, video_policy.HEAD_BYTES)
    upload_flow.checked(
        lambda: video_policy.check_stored(analysis.declared_size, size, head),
        lambda refusal: _reject(analysis, job, refusal),
    )
    analysis.file_size = size
    if upload_flow.queue_once(job):
        log.info("upload complete; analysis queued", extra={"analysis_id": analysis.id, "file_size": size})
    return analysis


def one_shot(
    tenant: Tenant, *, session_id: str, filename: str, content_type: str | None, stream: IO[bytes]
) -> Analysis:
    """A whole file in one request: check it, stream it to storage, create and queue the analysis."""
    session = sessions.get(tenant, session_id)
    filename = video_policy.clean_filename(filename)
    size, head = upload_flow.measure(stream, video_policy.HEAD_BYTES)
    content_type = video_policy.check_declared(filename, content_type, size)
    video_policy.check_stored(size, size, head)
    quotas.check_upload(tenant.user_id, size)
    analysis_id = new_id()
    key = _source_key(tenant.user_id, analysis_id)
    analysis = upload_flow.store_then_create(
        key,
        stream,
        content_type,
        size,
        lambda: _create(tenant, session.id, filename, content_type, size, analysis_id=analysis_id),
    )
    return complete(tenant, analysis.id)
