"""Sign up, sign in, sign out."""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Response, current_app, g, make_response, redirect, render_template, request, url_for

from backend_app.errors import AppError
from backend_app.extensions import limiter
from backend_app.services import accounts, signins
from backend_app.web import PRE_SESSION_COOKIE, bp, load_page_user, pre_session_csrf, set_token_cookies, signed_out


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


def _failed(response: Response) -> bool:
    """Only failed sign-ins count against the address: many people behind one address sign in."""
    return response.status_code >= 400


@bp.get("/")
def home():
    if load_page_user():
        return redirect(url_for("web.sessions_page"))
    return redirect(url_for("web.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
@pre_session_csrf
def login():
    error, status, headers = None, 200, {}
    email = request.form.get("email", "")
    if request.method == "POST":
        try:
            user = accounts.authenticate(email, request.form.get("password", ""))
            return _signed_in(user, request.args.get("next") or request.form.get("next"))
        except AppError as exc:
            error, status, headers = exc.message, exc.status, exc.headers  # Retry-After when throttled
    if error is None and request.args.get("reason") == "disabled":
        error = "This account is disabled; ask an administrator to enable it again."
    page = render_template("auth/login.html", error=error, email=email, next=request.args.get("next", ""))
    return page, status, headers


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
        signins.end(g.page_jwt)  # the whole sign-in: its refresh token and every access token
    return signed_out(make_response(redirect(url_for("web.login"), code=303)))
