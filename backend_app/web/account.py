"""The signed-in user's own pages: account (export, delete) and LLM usage against the budget."""

from __future__ import annotations

from flask import (
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_jwt_extended import unset_jwt_cookies

from backend_app.auth import current_tenant
from backend_app.models import UsageRecord
from backend_app.services import ownership, usage
from backend_app.tenancy import list_owned
from backend_app.web import bp, page_login_required

USAGE_ROWS = 100


@bp.get("/account")
@page_login_required
def account_page():
    return render_template("account/settings.html", error=None)


@bp.get("/account/export")
@page_login_required
def account_export_page():
    """The same streamed zip as GET /api/v1/me/export, for a cookie-signed-in browser."""
    response = Response(stream_with_context(ownership.export_stream(g.user.id)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="framewise-export-{g.user.id}.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/delete")
@page_login_required
def account_delete_page():
    if not g.user.check_password(request.form.get("password", "")):
        error = "The password is wrong; nothing was deleted. Type your current password to confirm."
        return render_template("account/settings.html", error=error), 401
    ownership.erase_user(g.user.id)
    g.pop("new_access_token", None)
    response = make_response(redirect(url_for("web.login", deleted=1), code=303))
    unset_jwt_cookies(response)
    return response


def latest_calls(limit: int = USAGE_ROWS) -> list[UsageRecord]:
    """The signed-in user's latest LLM calls, newest first."""
    return list_owned(UsageRecord, current_tenant(), order_by=UsageRecord.created_at.desc(), limit=limit)


@bp.get("/usage")
@page_login_required
def usage_page():
    summary = usage.month_summary(g.user.id)
    budget = summary["budget_usd"]
    percent = min(100.0, summary["spent_usd"] / budget * 100) if budget > 0 else 100.0
    return render_template(
        "usage/usage.html",
        usage=summary,
        percent=round(percent, 1),
        records=latest_calls(),
        provider=current_app.config["SETTINGS"].effective_ai_provider,
    )
