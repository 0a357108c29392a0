"""Sign up, sign in, sign out."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import current_app, g, make_response, redirect, render_template, request, url_for
from flask_jwt_extended import decode_token, unset_jwt_cookies

from backend_app.errors import AppError
from backend_app.extensions import limiter
from backend_app.services import accounts
from backend_app.web import PRE_SESSION_COOKIE, bp, load_page_user, pre_session_csrf, set_token_cookies


def _safe_next(target: str | None) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.sessions_page")


def _signed_in(user, target: str):
    tokens = accounts.issue_tokens(user)
    response = redirect(_safe_next(target), code=303)
    set_token_cookies(response, tokens["access_token"], tokens["refresh_token"])
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")  # signed in: the refresh token's CSRF value takes over
    return response


def _login_limit() -> str:
    return current_app.config["SETTINGS"].login_rate_limit


@bp.get("/")
def home():
    if load_page_user():
        return redirect(url_for("web.sessions_page"))
    return redirect(url_for("web.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@pre_session_csrf
def login():
    error = None
    email = request.form.get("email", "")
    if request.method == "POST":
        try:
            user = accounts.authenticate(email, request.form.get("password", ""))
            return _signed_in(user, request.args.get("next") or request.form.get("next"))
        except AppError as exc:
            error = exc.message
    if error is None and request.args.get("reason") == "disabled":
        error = "This account is disabled; ask an administrator to enable it again."
    status = 401 if error and request.method == "POST" else 200
    return render_template("auth/login.html", error=error, email=email, next=request.args.get("next", "")), status


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@pre_session_csrf
def register():
    error, field_errors = None, {}
    email = request.form.get("email", "")
    if request.method == "POST":
        try:
            user = accounts.register(email, request.form.get("password", ""))
            return _signed_in(user, None)
        except AppError as exc:
            error, field_errors = exc.message, exc.details.get("fields", {})
    status = 422 if error else 200
    return render_template("auth/register.html", error=error, field_errors=field_errors, email=email), status


@bp.post("/logout")
def logout():
    if load_page_user():
        minted = decode_token(g.new_access_token) if g.get("new_access_token") else None
        for claims in filter(None, (g.page_jwt, g.page_access_jwt, minted)):
            ttl = current_app.config[
                "JWT_REFRESH_TOKEN_EXPIRES" if claims["type"] == "refresh" else "JWT_ACCESS_TOKEN_EXPIRES"
            ]
            accounts.revoke(claims["jti"], ttl)
    g.pop("new_access_token", None)
    response = make_response(redirect(url_for("web.login"), code=303))
    unset_jwt_cookies(response)
    return response
