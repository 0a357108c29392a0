"""The signed-in user's account page: export your data, sign out everywhere, delete the account
(the API: api/account.py, api/auth.py)."""

from __future__ import annotations

from flask import g, make_response, redirect, render_template, request, url_for

from backend_app.http import attachment
from backend_app.services import ownership, signins
from backend_app.web import bp, page_login_required, signed_out


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
    return signed_out(make_response(redirect(url_for("web.login", deleted=1), code=303)))


@bp.post("/account/logout-all")
@page_login_required
def account_logout_all_page():
    """Sign out everywhere: every sign-in of this account ends, this browser's too."""
    signins.end_all(g.user.id)
    return signed_out(make_response(redirect(url_for("web.login", everywhere=1), code=303)))
