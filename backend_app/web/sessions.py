"""Sessions pages: list, create, delete."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for

from backend_app.auth import current_tenant
from backend_app.errors import AppError, is_htmx
from backend_app.services import sessions
from backend_app.services.documents import documents
from backend_app.services.documents import policy as document_policy
from backend_app.services.video import analyses
from backend_app.services.video import policy as video_policy
from backend_app.web import bp, fragment_or_page, page_login_required
from backend_app.web.analyses import item_context
from backend_app.web.documents import document_item


@bp.get("/sessions")
@page_login_required
def sessions_page():
    return fragment_or_page(
        "sessions/list.html", "partials/sessions/_list.html", sessions=sessions.list_for(current_tenant()), error=None
    )


@bp.post("/sessions")
@page_login_required
def create_session_page():
    error = None
    try:
        sessions.create(current_tenant(), request.form.get("name", ""))
    except AppError as exc:
        error = exc.message
    if not is_htmx() and not error:
        return redirect(url_for("web.sessions_page"), code=303)
    return fragment_or_page(
        "sessions/list.html", "partials/sessions/_list.html", sessions=sessions.list_for(current_tenant()), error=error
    )


@bp.post("/sessions/<session_id>/delete")
@page_login_required
def delete_session_page(session_id: str):
    sessions.delete(current_tenant(), session_id)
    if is_htmx():
        return fragment_or_page(
            "sessions/list.html",
            "partials/sessions/_list.html",
            sessions=sessions.list_for(current_tenant()),
            error=None,
        )
    return redirect(url_for("web.sessions_page"), code=303)


@bp.get("/sessions/<session_id>")
@page_login_required
def session_page(session_id: str):
    tenant = current_tenant()
    session = sessions.get(tenant, session_id)
    items = [item_context(a) for a in analyses.list_for(tenant, session_id=session.id)]
    document_items = [document_item(tenant, d) for d in documents.list_for(tenant, session_id=session.id)]
    settings = current_app.config["SETTINGS"]
    accept = ",".join(
        [*video_policy.accepted(settings.upload_allowed_types), *document_policy.TYPES, *document_policy.EXTENSIONS]
    )
    return render_template(
        "sessions/detail.html",
        session=session,
        items=items,
        document_items=document_items,
        accept=accept,
        max_upload_bytes=settings.max_upload_bytes,
        max_document_bytes=settings.max_document_bytes,
    )
