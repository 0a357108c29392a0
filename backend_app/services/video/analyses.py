"""Analyses as their owner sees them: list, status, report, images, retry, delete.

Every function takes the tenant; another user's analysis is simply not found (404).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend_app.adapters.storage import ObjectNotFound, get_storage
from backend_app.errors import Conflict, NotFound, ValidationError
from backend_app.extensions import db
from backend_app.models import Analysis, Job
from backend_app.models.job import COMPLETED, STATUSES
from backend_app.services import jobs, sessions, upload_flow
from backend_app.services.files import Download
from backend_app.services.video import people
from backend_app.services.video.data import purge_analysis
from backend_app.tenancy import Tenant, get_owned, list_owned

JPEG = "image/jpeg"
PREVIEW_LINK_S = 3600  # a report's link to its preview: long enough to watch a long video


def get(tenant: Tenant, analysis_id: str) -> Analysis:
    return get_owned(Analysis, tenant, analysis_id, what="analysis")


def status_dict(analysis: Analysis) -> dict[str, Any]:
    """The analysis with its job's status, stage, progress, ETA and error."""
    data = analysis.to_dict()
    data["eta_s"] = jobs.eta_s(analysis.job)
    data["declared_size"] = analysis.declared_size
    return data


def list_for(
    tenant: Tenant, session_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[Analysis]:
    """The tenant's analyses, newest first, optionally in one session and with one status."""
    criteria = []
    if session_id:
        sessions.get(tenant, session_id)  # an unknown or foreign session is a 404, not an empty list
        criteria.append(Analysis.session_id == session_id)
    if status:
        if status not in STATUSES:
            raise ValidationError(
                f"status must be one of {', '.join(STATUSES)}.", details={"fields": {"status": "unknown status"}}
            )
        criteria.append(
            Analysis.job_id.in_(db.select(Job.id).where(Job.status == status, Job.user_id == tenant.user_id))
        )
    return list_owned(Analysis, tenant, *criteria, order_by=Analysis.created_at.desc(), limit=limit)


def _require_completed(analysis: Analysis) -> None:
    status = analysis.job.status if analysis.job else None
    if status != COMPLETED:
        raise Conflict(
            "The analysis is not finished yet.",
            code="ANALYSIS_NOT_READY",
            details={"status": status, "progress": analysis.job.progress if analysis.job else 0},
        )


def report(
    tenant: Tenant,
    analysis_id: str,
    *,
    keyframe_url: Callable[[int], str],
    contact_sheet_url: str,
    face_url: Callable[[str], str] | None = None,
    link_s: int = PREVIEW_LINK_S,
) -> dict[str, Any]:
    """The completed report, with the caller's links to keyframes, the contact sheet and the people's
    faces filled in (and the owner's other videos each person is also in), and ``preview_url``: a signed link (valid ``link_s``) to the browser-playable rendition, or None."""
    analysis = get(tenant, analysis_id)
    _require_completed(analysis)
    if not analysis.report:
        raise NotFound("This analysis has no report.", code="REPORT_NOT_FOUND")
    # Copy only the dicts that change: a deep copy of a long video's report costs more than
    # rendering it. Nested values are shared with the stored report, so nothing here mutates them.
    data = dict(analysis.report)
    if data.get("shots"):
        data["shots"] = [_linked_shot(shot, keyframe_url) for shot in data["shots"]]
    if data.get("people"):
        data["people"] = people.linked(analysis, data["people"], face_url)
    data["analysis_id"] = analysis.id
    data["contact_sheet_url"] = contact_sheet_url if analysis.contact_sheet_key else None
    data.pop("preview_key", None)
    data["preview_url"] = preview_url(analysis, link_s)
    return data


def _linked_shot(shot: dict[str, Any], keyframe_url: Callable[[int], str]) -> dict[str, Any]:
    linked = {name: value for name, value in shot.items() if name != "keyframe_key"}
    linked["keyframe_url"] = keyframe_url(shot["index"]) if shot.get("keyframe_key") else None
    return linked


def _keyframe_key(analysis: Analysis, index: int) -> str:
    for shot in (analysis.report or {}).get("shots") or []:
        if shot.get("index") == index and shot.get("keyframe_key"):
            return shot["keyframe_key"]
    return f"{analysis.prefix}keyframes/{index}.jpg"


def _image(analysis: Analysis, key: str, what: str) -> Download:
    if not key.startswith(analysis.prefix):  # a report can only point inside its own analysis
        raise NotFound(f"No {what} for this analysis.", code=f"{what.upper().replace(' ', '_')}_NOT_FOUND")
    storage = get_storage()
    try:
        return Download(storage.iter_chunks(key), JPEG, size=storage.size(key))
    except ObjectNotFound:
        raise NotFound(f"No {what} for this analysis.", code=f"{what.upper().replace(' ', '_')}_NOT_FOUND") from None


def keyframe(tenant: Tenant, analysis_id: str, index: int) -> Download:
    """One shot's keyframe (JPEG), streamed from storage."""
    analysis = get(tenant, analysis_id)
    return _image(analysis, _keyframe_key(analysis, index), "keyframe")


def contact_sheet(tenant: Tenant, analysis_id: str) -> Download:
    """The contact sheet of all keyframes (JPEG), streamed from storage."""
    analysis = get(tenant, analysis_id)
    key = analysis.contact_sheet_key or f"{analysis.prefix}contact_sheet.jpg"
    return _image(analysis, key, "contact sheet")


def person_face(tenant: Tenant, analysis_id: str, person_id: str) -> Download:
    """One person's face crop (JPEG), streamed from storage."""
    return people.face(get(tenant, analysis_id), person_id)


def report_people(analysis: Analysis, face_url: Callable[[str], str]) -> list[dict[str, Any]]:
    """The report's people (of an analysis got with ``get``) with their face links and the owner's
    other videos they are in."""
    return people.linked(analysis, (analysis.report or {}).get("people") or [], face_url)


def video_url(analysis: Analysis, expires_s: int) -> str:
    """A signed, expiring storage link to the uploaded video (saved under its own file name)."""
    return get_storage().presign_get(analysis.storage_key, expires_s, filename=analysis.filename)


def preview_url(analysis: Analysis, expires_s: int) -> str | None:
    """A signed link to the analysis's browser-playable rendition (played inline), or None without one."""
    key = (analysis.report or {}).get("preview_key")
    if not key or not key.startswith(analysis.prefix):  # a report can only point inside its own analysis
        return None
    return get_storage().presign_get(key, expires_s)


def player_url(analysis: Analysis, expires_s: int) -> str:
    """What the report's player plays: the preview rendition when there is one, else the upload."""
    return preview_url(analysis, expires_s) or video_url(analysis, expires_s)


def retry(tenant: Tenant, analysis_id: str) -> Analysis:
    """The owner's retry of a failed (or canceled) analysis; its uploaded video must still exist."""
    analysis = get(tenant, analysis_id)
    upload_flow.retry_upload_job(analysis.job, analysis.storage_key, "video")
    return analysis


def delete(tenant: Tenant, analysis_id: str) -> None:
    """Delete the analysis: storage objects, shot documents, its row and its job (canceled first)."""
    purge_analysis(get(tenant, analysis_id))
    db.session.commit()
