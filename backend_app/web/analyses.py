"""Analysis pages: the live status item (polls itself until done), the report, its files."""

from __future__ import annotations

import json
from types import SimpleNamespace

from flask import Response, redirect, render_template, url_for

from backend_app.auth import current_tenant
from backend_app.errors import NotFound, is_htmx
from backend_app.http import attachment, image, report_links, url_template
from backend_app.models.job import COMPLETED, QUEUED, RUNNING
from backend_app.services import sessions
from backend_app.services.files import Download
from backend_app.services.video import analyses
from backend_app.web import bp, fragment_or_page, page_login_required
from backend_app.web.charts import line_chart, samples_from_report

POLLING = (QUEUED, RUNNING)
VIDEO_LINK_S = 3600


def item_context(analysis) -> dict:
    status = analyses.status_dict(analysis)
    return {"a": status, "polling": status["status"] in POLLING}


def _session_name(analysis) -> str:
    return sessions.get(current_tenant(), analysis.session_id).name


@bp.get("/analyses/<analysis_id>/status")
@page_login_required
def analysis_status_page(analysis_id: str):
    """The status item: htmx polls this every second while the job runs; the page shows it alone."""
    try:
        analysis = analyses.get(current_tenant(), analysis_id)
    except NotFound:
        if is_htmx():  # deleted meanwhile (another tab): 286 tells htmx to stop polling; the item goes
            return Response("", 286)
        raise
    page_only = {} if is_htmx() else {"session_name": _session_name(analysis)}  # polls skip the lookup
    return fragment_or_page(
        "analyses/status.html", "partials/analyses/_item.html", **item_context(analysis), **page_only
    )


@bp.post("/analyses/<analysis_id>/retry")
@page_login_required
def analysis_retry_page(analysis_id: str):
    analysis = analyses.retry(current_tenant(), analysis_id)
    if not is_htmx():
        return redirect(url_for("web.session_page", session_id=analysis.session_id), code=303)
    return fragment_or_page("analyses/status.html", "partials/analyses/_item.html", **item_context(analysis))


@bp.post("/analyses/<analysis_id>/delete")
@page_login_required
def analysis_delete_page(analysis_id: str):
    session_id = analyses.get(current_tenant(), analysis_id).session_id
    analyses.delete(current_tenant(), analysis_id)
    if is_htmx():
        return ""
    return redirect(url_for("web.session_page", session_id=session_id), code=303)


@bp.get("/analyses/<analysis_id>")
@page_login_required
def report_page(analysis_id: str):
    analysis = analyses.get(current_tenant(), analysis_id)
    if analysis.job is None or analysis.job.status != COMPLETED or not analysis.report:
        return render_template("analyses/status.html", **item_context(analysis), session_name=_session_name(analysis))
    # Read-only, so the stored report is rendered as it is (analyses.report() copies every shot to
    # add API links, which the page does not need); images use page routes.
    report = analysis.report
    return render_template(
        "analyses/report.html",
        analysis=analysis,
        report=report,
        shots=page_shots(report),
        keyframe_url=url_template("web.keyframe_image", "index", analysis_id=analysis.id),  # twice a shot
        session_name=_session_name(analysis),
        meta=report.get("metadata") or analysis.video_metadata or {},
        chart=line_chart(samples_from_report(report)),
        video_url=analyses.player_url(analysis, VIDEO_LINK_S),
        source_url=analyses.video_url(analysis, VIDEO_LINK_S),
        people=analyses.report_people(analysis, _face_url(analysis.id)) if report.get("people") else [],
    )


def _face_url(analysis_id: str):
    return lambda person_id: url_for("web.person_face_image", analysis_id=analysis_id, person_id=person_id)


def page_shots(report: dict) -> list[SimpleNamespace]:
    """The report's shots (and their colours) as attribute objects: Jinja reads ``shot.x`` as an
    attribute first and a key only after that fails, and 300 shots' failed attribute lookups were
    a fifth of the page's time. The stored report is not changed."""

    def shot(fields: dict) -> SimpleNamespace:
        colours = [SimpleNamespace(**c) for c in fields.get("colors") or () if isinstance(c, dict)]
        return SimpleNamespace(**{**fields, "colors": colours})

    return [shot(s) for s in report.get("shots") or () if isinstance(s, dict)]


@bp.get("/analyses/<analysis_id>/keyframes/<int:index>.jpg")
@page_login_required
def keyframe_image(analysis_id: str, index: int):
    return image(analyses.keyframe(current_tenant(), analysis_id, index))


@bp.get("/analyses/<analysis_id>/people/<person_id>/face.jpg")
@page_login_required
def person_face_image(analysis_id: str, person_id: str):
    return image(analyses.person_face(current_tenant(), analysis_id, person_id))


@bp.get("/analyses/<analysis_id>/contact-sheet.jpg")
@page_login_required
def contact_sheet_image(analysis_id: str):
    return image(analyses.contact_sheet(current_tenant(), analysis_id))


@bp.get("/analyses/<analysis_id>/report.json")
@page_login_required
def report_json(analysis_id: str):
    """The report as the API gives it (links to the API's images), saved as a file."""
    report = analyses.report(current_tenant(), analysis_id, **report_links(analysis_id))
    body = json.dumps(report, indent=2, ensure_ascii=False)
    return attachment(Download(body, "application/json", filename=f"report-{analysis_id}.json"))
