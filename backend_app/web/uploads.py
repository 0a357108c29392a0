"""Browser uploads: the page asks for a signed URL, the browser PUTs the bytes straight to it
(progress from XMLHttpRequest), then the page completes the upload and gets the live item."""

from __future__ import annotations

from flask import jsonify, render_template, request, url_for

from backend_app.auth import current_tenant
from backend_app.errors import AppError, ValidationError
from backend_app.extensions import db
from backend_app.services import uploads as intake
from backend_app.services.video import analyses, uploads
from backend_app.services.video import policy as video_policy
from backend_app.validation import json_body
from backend_app.web import bp, page_login_required
from backend_app.web.analyses import item_context


def _declared() -> dict:
    data = json_body() if request.is_json else request.form
    try:
        size = int(data.get("file_size", ""))
    except (TypeError, ValueError, OverflowError):
        raise ValidationError(
            "The browser did not say how big the file is; pick the file again.",
            details={"fields": {"file_size": "must be a whole number of bytes"}},
        ) from None
    return {
        "filename": str(data.get("filename") or ""),
        "content_type": str(data.get("content_type") or ""),
        "file_size": size,
    }


@bp.post("/sessions/<session_id>/uploads")
@page_login_required
def upload_init_page(session_id: str):
    """Create the analysis (or the document); answer with where to PUT the bytes and where to complete."""
    ticket = intake.init(current_tenant(), session_id=session_id, **_declared())
    if "document_id" in ticket:
        complete_url = url_for("web.document_complete_page", document_id=ticket["document_id"])
    else:
        complete_url = url_for("web.upload_complete_page", analysis_id=ticket["analysis_id"])
    return jsonify({**ticket, "complete_url": complete_url}), 201


@bp.post("/analyses/<analysis_id>/complete")
@page_login_required
def upload_complete_page(analysis_id: str):
    """The bytes are in storage: queue the analysis and return its self-polling item.

    A refused file (not a video, another size than declared…) fails its analysis: the answer is
    then that failed item, with the refusal's status and ``X-Analysis-Item: failed``, so the
    page lists it at once with its reason. An incomplete upload stays an error to fix (upload
    again); it fails nothing."""
    tenant = current_tenant()
    try:
        uploads.complete(tenant, analysis_id)
    except AppError as refusal:
        if refusal.code not in video_policy.STATUS_BY_CODE or refusal.code == "UPLOAD_INCOMPLETE":
            raise  # not a refusal of the file (or one the user fixes by uploading again)
        db.session.expire_all()
        item = render_template("partials/analyses/_item.html", **item_context(analyses.get(tenant, analysis_id)))
        return item, refusal.status, {"X-Analysis-Item": "failed"}
    return render_template("partials/analyses/_item.html", **item_context(analyses.get(tenant, analysis_id)))
