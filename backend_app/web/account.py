"""The signed-in user's account page: export your data, delete the account (the API: api/account.py)."""

from __future__ import annotations

from flask import g, make_response, redirect, render_template, request, url_for
from flask_jwt_extended import unset_jwt_cookies

from backend_app.http import attachment
from backend_app.services import ownership
from backend_app.web import bp, page_login_required


@bp.get("/account")
@page_login_required
def account_page():
    return render_template("account/settings.html", error=None)


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
        return render_template("account/settings.html", error=error), 401
    ownership.erase_user(g.user.id)
    g.pop("new_access_token", None)
    response = make_response(redirect(url_for("web.login", deleted=1), code=303))
    unset_jwt_cookies(response)
    return response
