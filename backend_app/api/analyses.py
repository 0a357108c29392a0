"""Analyses: list, status, report, keyframes, contact sheet, people's faces, retry, delete (all tenant-scoped)."""

from __future__ import annotations

from flask import jsonify, request

from backend_app.api import bp, doc
from backend_app.api.schemas import JOB_STATUS, list_of, ref, shape
from backend_app.auth import current_tenant, login_required
from backend_app.http import image, report_links
from backend_app.services.video import analyses
from backend_app.validation import int_arg

NOT_FOUND = {404: "ANALYSIS_NOT_FOUND"}


@bp.get("/analyses")
@doc(
    "List your analyses",
    tag="analyses",
    params={
        "session_id": "only this session",
        "status": {"description": "only this job status", **JOB_STATUS},
        "limit": {"description": "at most this many (default 100)", "type": "integer", "minimum": 1, "maximum": 500},
    },
    responses={200: "OK", 404: "SESSION_NOT_FOUND", 422: "VALIDATION_ERROR"},
    returns=list_of("analyses", ref("AnalysisStatus")),
)
@login_required
def list_analyses():
    found = analyses.list_for(
        current_tenant(),
        session_id=request.args.get("session_id") or None,
        status=request.args.get("status") or None,
        limit=int_arg("limit", 100, low=1, high=500),
    )
    return jsonify({"analyses": [analyses.status_dict(a) for a in found]})


@bp.get("/analyses/<analysis_id>")
@doc(
    "Status of one analysis (status, stage, progress, eta_s, error)",
    tag="analyses",
    responses={200: "OK", **NOT_FOUND},
    returns=ref("AnalysisStatus"),
)
@login_required
def get_analysis(analysis_id: str):
    return jsonify(analyses.status_dict(analyses.get(current_tenant(), analysis_id)))


@bp.get("/analyses/<analysis_id>/report")
@doc(
    "The analysis report",
    tag="analyses",
    responses={200: "OK", 409: "ANALYSIS_NOT_READY", **NOT_FOUND},
    returns=shape({"metadata": {"type": "object"}, "shots": {"type": "array"}}, {"warnings": {}, "summary": {}}),
)
@login_required
def get_report(analysis_id: str):
    return jsonify(analyses.report(current_tenant(), analysis_id, **report_links(analysis_id)))


@bp.get("/analyses/<analysis_id>/keyframes/<int:index>")
@doc(
    "One shot's keyframe (JPEG)",
    tag="analyses",
    responses={200: "image/jpeg", 404: "KEYFRAME_NOT_FOUND"},
    media="image/jpeg",
)
@login_required
def get_keyframe(analysis_id: str, index: int):
    return image(analyses.keyframe(current_tenant(), analysis_id, index))


@bp.get("/analyses/<analysis_id>/contact-sheet")
@doc(
    "The contact sheet of all keyframes (JPEG)",
    tag="analyses",
    responses={200: "image/jpeg", 404: "CONTACT_SHEET_NOT_FOUND"},
    media="image/jpeg",
)
@login_required
def get_contact_sheet(analysis_id: str):
    return image(analyses.contact_sheet(current_tenant(), analysis_id))


@bp.get("/analyses/<analysis_id>/people/<person_id>/face")
@doc(
    "A face picture of one person the faces analyser found (JPEG)",
    tag="analyses",
    responses={200: "image/jpeg", 404: "PERSON_NOT_FOUND or ANALYSIS_NOT_FOUND"},
    media="image/jpeg",
)
@login_required
def get_person_face(analysis_id: str, person_id: str):
    return image(analyses.person_face(current_tenant(), analysis_id, person_id))


@bp.post("/analyses/<analysis_id>/retry")
@doc(
    "Retry a failed analysis",
    tag="analyses",
    responses={
        202: "Queued",
        409: "JOB_NOT_RETRYABLE (a retry cannot change the failure, e.g. UNSUPPORTED_CODEC) or SOURCE_MISSING",
        **NOT_FOUND,
    },
    returns=ref("AnalysisStatus"),
)
@login_required
def retry_analysis(analysis_id: str):
    return jsonify(analyses.status_dict(analyses.retry(current_tenant(), analysis_id))), 202


@bp.delete("/analyses/<analysis_id>")
@doc("Delete an analysis, its files and its job", tag="analyses", responses={204: "Deleted", **NOT_FOUND})
@login_required
def delete_analysis(analysis_id: str):
    analyses.delete(current_tenant(), analysis_id)
    return "", 204
