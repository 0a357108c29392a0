"""The signed-in user's account page: API keys, export your data, sign out everywhere, delete the
account (the API: api/account.py, api/api_keys.py, api/auth.py)."""

from __future__ import annotations

from flask import g, make_response, redirect, render_template, request, url_for

from backend_app.errors import AppError, is_htmx
from backend_app.http import attachment
from backend_app.models.base import utcnow
from backend_app.services import api_keys, ownership, signins
from backend_app.web import bp, fragment_or_page, page_login_required, signed_out


def _keys_context(**extra) -> dict:
    keys = api_keys.list_for(g.user.id)
    context = {
        "keys": keys,
        "key_names": {key.id: key.name for key in keys},
        "events": api_keys.events(g.user.id, limit=10),
        "now": utcnow(),
        "new_key": None,
        "key_error": None,
        "error": None,
    }
    return {**context, **extra}


@bp.get("/account")
@page_login_required
def account_page():
    return render_template("account/settings.html", **_keys_context())


@bp.post("/account/api-keys")
@page_login_required
def create_api_key_page():
    """Make a key and show it this once (in the fragment, or in the page without htmx: never in a redirect)."""
    days = request.form.get("expires_in_days", "").strip()
    try:
        key, raw = api_keys.create(
            g.user,
            name=request.form.get("name", ""),
            scope=request.form.get("scope", "write"),
            expires_in_days=int(days) if days.isdigit() else None,
        )
    except AppError as refusal:
        context = _keys_context(key_error=refusal.explained())
        status = 200 if is_htmx() else refusal.status
        return fragment_or_page("account/settings.html", "partials/account/_api_keys.html", **context), status
    new_key = {"name": key.name, "scope": key.scope, "expires_at": key.expires_at, "key": raw}
    response = fragment_or_page(
        "account/settings.html", "partials/account/_api_keys.html", **_keys_context(new_key=new_key)
    )
    response.headers["Cache-Control"] = "no-store"
    return response, 201 if not is_htmx() else 200


@bp.post("/account/api-keys/<key_id>/revoke")
@page_login_required
def revoke_api_key_page(key_id: str):
    api_keys.revoke(g.user.id, key_id)
    if is_htmx():
        return fragment_or_page("account/settings.html", "partials/account/_api_keys.html", **_keys_context())
    return redirect(url_for("web.account_page"), code=303)


@bp.get("/account/export")
@page_login_required
def account_export_page():
    """The same streamed zip as GET /api/v1/me/export, for a cookie-signed-in browser."""
    return attachment(ownership.export(g.user.id))


@bp.post("/account/delete")
@page_login_required
def account_delete_page():
    if not g.user.check_password(request.form.get("password", "")):
        error = "The password is wrong; nothing was deleted. Type your current password to confirm."
        return render_template("account/settings.html", **_keys_context(error=error)), 401
    ownership.erase_user(g.user.id)
    return signed_out(make_response(redirect(url_for("web.login", deleted=1), code=303)))


@bp.post("/account/logout-all")
@page_login_required
def account_logout_all_page():
    """Sign out everywhere: every sign-in of this account ends, this browser's too."""
    signins.end_all(g.user.id)
    return signed_out(make_response(redirect(url_for("web.login", everywhere=1), code=303)))
