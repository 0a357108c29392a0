"""Document pages: the live item on the session page, the document report (pages with
thumbnails, outline, words, language, OCR'd pages marked; ``?page=N`` opens at page N), retry, delete."""

from __future__ import annotations

from flask import Response, redirect, render_template, request, url_for

from backend_app.auth import current_tenant
from backend_app.errors import AppError, NotFound, is_htmx
from backend_app.extensions import db
from backend_app.http import image
from backend_app.models.job import QUEUED, RUNNING
from backend_app.services import sessions
from backend_app.services.documents import documents
from backend_app.services.documents import policy as document_policy
from backend_app.services.documents import uploads as document_uploads
from backend_app.web import bp, fragment_or_page, page_login_required

POLLING = (QUEUED, RUNNING)


def document_item(tenant, document) -> dict:
    """What the document's item shows: its status with page summaries, and whether it polls."""
    status = documents.status_dict(tenant, document)
    return {"d": status, "polling": status["status"] in POLLING}


@bp.post("/documents/<document_id>/complete")
@page_login_required
def document_complete_page(document_id: str):
    """The bytes are in storage: queue the extraction and return the self-polling item (a refused
    file answers its failed item with the refusal's status and ``X-Analysis-Item: failed``)."""
    tenant = current_tenant()
    try:
        document_uploads.complete(tenant, document_id)
    except AppError as refusal:
        if refusal.code not in document_policy.STATUS_BY_CODE or refusal.code == "UPLOAD_INCOMPLETE":
            raise
        db.session.expire_all()
        item = render_template(
            "partials/documents/_item.html", **document_item(tenant, documents.get(tenant, document_id))
        )
        return item, refusal.status, {"X-Analysis-Item": "failed"}
    return render_template("partials/documents/_item.html", **document_item(tenant, documents.get(tenant, document_id)))


@bp.get("/documents/<document_id>/status")
@page_login_required
def document_status_page(document_id: str):
    """The status item: htmx polls it every second while the extraction runs."""
    tenant = current_tenant()
    try:
        document = documents.get(tenant, document_id)
    except NotFound:
        if is_htmx():
            return Response("", 286)
        raise
    page_only = {} if is_htmx() else {"session_name": sessions.get(tenant, document.session_id).name}
    return fragment_or_page(
        "documents/status.html", "partials/documents/_item.html", **document_item(tenant, document), **page_only
    )


@bp.get("/documents/<document_id>")
@page_login_required
def document_page(document_id: str):
    """The document report; while it is not extracted, its live item."""
    tenant = current_tenant()
    document = documents.get(tenant, document_id)
    session_name = sessions.get(tenant, document.session_id).name
    item = document_item(tenant, document)
    if item["d"]["status"] != "completed":
        return render_template("documents/status.html", **item, session_name=session_name)
    pages = documents.pages_of(tenant, document)
    try:
        selected = int(request.args.get("page", "") or 0)
    except ValueError:
        selected = 0
    return render_template(
        "documents/report.html",
        document=document,
        d=item["d"],
        pages=pages,
        outline=documents.outline(pages),
        selected=selected if 1 <= selected <= len(pages) else 0,
        session_name=session_name,
    )


@bp.get("/documents/<document_id>/pages/<int:number>.jpg")
@page_login_required
def document_thumbnail(document_id: str, number: int):
    return image(documents.thumbnail(current_tenant(), document_id, number))


@bp.post("/documents/<document_id>/retry")
@page_login_required
def document_retry_page(document_id: str):
    tenant = current_tenant()
    document = documents.retry(tenant, document_id)
    if not is_htmx():
        return redirect(url_for("web.session_page", session_id=document.session_id), code=303)
    return render_template("partials/documents/_item.html", **document_item(tenant, document))


@bp.post("/documents/<document_id>/delete")
@page_login_required
def document_delete_page(document_id: str):
    tenant = current_tenant()
    session_id = documents.get(tenant, document_id).session_id
    documents.delete(tenant, document_id)
    if is_htmx():
        return ""
    return redirect(url_for("web.session_page", session_id=session_id), code=303)
