"""Server-rendered HTMX pages, one module per area; cookie JWT with CSRF.

Conventions every page module follows:
- Views call the same services as the API (never the API over HTTP) with ``current_tenant()``;
  another user's object is the 404 page.
- One route serves the full page and, to htmx, only its fragment (``fragment_or_page``,
  ``Vary: HX-Request``). A job's item polls its own URL every second while the job runs and
  is rendered without the trigger once it is done (286 when it vanished).
- Every unsafe request carries the CSRF value of the refresh cookie: forms as ``csrf_token``,
  htmx and app.js as ``X-CSRF-TOKEN`` (from the ``csrf-token`` meta tag). Forms used before
  sign-in (``pre_session_csrf``) carry a signed double-submit token the same way.
- Streams (chat answers, batch progress) are page routes too, so cookie sign-in refreshes
  work; app.js reads them (fetch + ReadableStream for chat, EventSource for batches).
- Requirement text is never stored: pages highlight findings in the text of the same
  request; a batch page opened later shows ids, scores and spans only.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from functools import wraps

from flask import Blueprint, Response, current_app, g, make_response, redirect, render_template, request, url_for
from flask_jwt_extended import decode_token, set_access_cookies, set_refresh_cookies, unset_jwt_cookies

from backend_app.auth import ACCESS_COOKIE, REFRESH_COOKIE, token_user, verified_claims
from backend_app.errors import AppError, Forbidden, is_htmx, set_page_user_loader
from backend_app.models.base import utcnow
from backend_app.services import signins
from backend_app.wording import counted, duration

bp = Blueprint("web", __name__)


@bp.after_request
def _not_kept_by_the_browser(response: Response) -> Response:
    """Pages are not stored: Back after a change (an upload, a chat answer) or after signing out
    must ask again, not show the browser's old copy of someone's private page."""
    if response.mimetype == "text/html" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PRE_SESSION_COOKIE = "csrf_pre_session"
_NONCE = re.compile(r"[A-Za-z0-9_-]{32,128}")


def load_page_user() -> bool:
    """Load ``g.user`` from the cookies; False when nobody is signed in.

    The access cookie lives 15 minutes; when it has expired, the refresh cookie is rotated
    (``services.signins``): the response carries a new refresh cookie and a new access cookie,
    and the old refresh token is used up. Requests the browser sent at the same moment with the
    same old cookie (a page and its htmx polls) are still served as the user for
    REFRESH_REUSE_GRACE_S after the rotation, changing no cookie; later, the old cookie is a
    replay and ends the sign-in. The sign-in is the refresh token's: its user is the page's user,
    and an access cookie of anybody else, or of another sign-in, is ignored (replaced), so a copied
    access token never becomes a sign-in that outlives it. Unsafe requests must echo the refresh
    token's CSRF value (rendered into every page and sent by htmx as X-CSRF-TOKEN): the whole
    sign-in keeps it across rotations, so open forms never go stale.
    """
    try:
        signed_in = token_user(request.cookies.get(REFRESH_COOKIE), "refresh", cookie=True)
    except AppError as refusal:
        g.sign_in_refused = refusal.code  # e.g. ACCOUNT_DISABLED: the login page says so
        return False
    if signed_in is None:
        return False
    refresh, user = signed_in
    access = verified_claims(request.cookies.get(ACCESS_COOKIE), "access", cookie=True)  # only compared
    if access is not None and (access["sub"], access.get("fam")) != (refresh["sub"], refresh.get("fam")):
        access = None  # somebody else's, or another sign-in's: ignored, and replaced below
    if access is None and "new_tokens" not in g:
        try:
            g.new_tokens = signins.rotate(refresh, cookie=True)  # None: a concurrent duplicate
        except AppError:
            return False  # ended meanwhile (a replay, a logout elsewhere)
    if request.method not in SAFE_METHODS:
        _check_csrf(
            refresh.get("csrf", ""), "The form expired or came from another site; reload the page and try again."
        )
    g.user = user
    g.csrf_token = refresh.get("csrf", "")
    g.page_jwt = refresh  # this sign-in's refresh token (logout ends its family)
    return True


def _check_csrf(expected: str, message: str) -> None:
    """Raise CSRF_FAILED unless the request echoes ``expected`` (form field or X-CSRF-TOKEN)."""
    sent = request.headers.get("X-CSRF-TOKEN") or request.form.get("csrf_token") or ""
    # As bytes: compare_digest refuses non-ASCII str, and a forged token must be a 403, not a 500.
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden(message, code="CSRF_FAILED")


def _signed_nonce(nonce: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"pre-session-csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def pre_session_csrf(view: Callable) -> Callable:
    """CSRF for forms used before sign-in (log in, sign up): a signed double-submit token.

    Nobody is signed in, so there is no refresh token to echo. Rendering the form sets a random
    nonce in an HttpOnly, SameSite=Lax cookie and puts its HMAC (keyed with SECRET_KEY) into the
    page as ``csrf_token``; an unsafe request must bring both, so another site cannot sign a
    visitor in to an account of its choosing (login CSRF).
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        nonce = request.cookies.get(PRE_SESSION_COOKIE, "")
        if not _NONCE.fullmatch(nonce):
            nonce = ""
        if request.method not in SAFE_METHODS:
            _check_csrf(
                _signed_nonce(nonce) if nonce else "",
                "This sign-in form expired or came from another site; reload the page and try again.",
            )
        fresh = secrets.token_urlsafe(32) if not nonce else None
        g.csrf_token = _signed_nonce(nonce or fresh)
        response = make_response(view(*args, **kwargs))
        if fresh:
            response.set_cookie(
                PRE_SESSION_COOKIE,
                fresh,
                httponly=True,
                samesite="Lax",
                path="/",
                secure=current_app.config["SETTINGS"].cookie_secure,
            )
        response.headers["Cache-Control"] = "no-store"  # the page's token belongs to this browser's cookie
        return response

    return wrapper


def page_login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not load_page_user():
            why = {"reason": "disabled"} if g.get("sign_in_refused") == "ACCOUNT_DISABLED" else {}
            if is_htmx():
                response = Response("", 401)
                response.headers["HX-Redirect"] = url_for("web.login", next=request.full_path, **why)
                return response
            return redirect(url_for("web.login", next=request.full_path, **why))
        return view(*args, **kwargs)

    return wrapper


def page_admin_required(view: Callable) -> Callable:
    @wraps(view)
    @page_login_required
    def wrapper(*args, **kwargs):
        if not g.user.is_admin:
            raise Forbidden("This page is for admins.", code="ADMIN_REQUIRED")
        return view(*args, **kwargs)

    return wrapper


def fragment_or_page(page: str, fragment: str, **context) -> Response:
    """The same route serves the full page, or only its fragment to htmx (Vary: HX-Request)."""
    template = fragment if is_htmx() else page
    response = Response(render_template(template, **context))
    response.headers["Vary"] = "HX-Request"
    return response


def set_token_cookies(response: Response, access_token: str | None = None, refresh_token: str | None = None) -> None:
    """Set the JWT cookies, each kept by the browser exactly as long as its token is valid
    (flask-jwt-extended's own default is a year, whatever the token's lifetime)."""
    if access_token:
        set_access_cookies(response, access_token, max_age=_seconds_left(access_token))
    if refresh_token:
        set_refresh_cookies(response, refresh_token, max_age=_seconds_left(refresh_token))


def _seconds_left(token: str) -> int:
    # At least 1: flask-jwt-extended reads a max_age of 0 as "use the one-year default".
    return max(1, int(decode_token(token)["exp"] - time.time()))


@bp.after_app_request
def _set_refreshed_cookie(response: Response) -> Response:
    tokens = g.pop("new_tokens", None)
    if tokens:
        set_token_cookies(response, tokens["access_token"], tokens["refresh_token"])
    return response


def signed_out(response: Response) -> Response:
    """``response`` with the sign-in cookies removed (and none refreshed on the way out)."""
    g.pop("new_tokens", None)
    unset_jwt_cookies(response)
    return response


# Areas add their top-level pages here: (endpoint, label, admin only).
NAV: list[tuple[str, str, bool]] = [
    ("web.sessions_page", "Sessions", False),
    ("web.chat_page", "Chat", False),
    ("web.requirements_page", "Requirements", False),
    ("web.usage_page", "Usage", False),
    ("web.account_page", "Account", False),
    ("web.admin_flags_page", "Flags", True),
    ("web.admin_health_page", "Health", True),
    ("web.admin_jobs_page", "Jobs", True),
    ("web.admin_users_page", "Users", True),
]


def nav_links(user, admin_only: bool = False) -> list[tuple[str, str]]:
    """The user's top-level links; ``admin_only`` picks the admin menu's entries."""
    return [(endpoint, label) for endpoint, label, admin in NAV if admin == admin_only and (user.is_admin or not admin)]


bp.add_app_template_filter(counted)
bp.add_app_template_filter(duration)


@bp.app_context_processor
def _template_globals() -> dict:
    return {
        "current_user": g.get("user"),
        "csrf_token": g.get("csrf_token", ""),
        "nav_links": nav_links,
        "now_utc": lambda: utcnow().strftime("%H:%M:%S UTC"),
        "guard_banner": guard_banner,
    }


def guard_banner() -> dict | None:
    """The canary guard's rollback, shown to admins on every page until the flag is on again."""
    from backend_app.services.flags import guard

    try:
        return guard.status()
    except Exception:  # the banner never breaks a page; /admin/health says what is down
        return None


# An error page no view answered (a 404) still shows the signed-in user's menu, not "Log in".
bp.record_once(lambda state: set_page_user_loader(state.app, load_page_user))


def register_modules() -> None:
    """Import every page module in this package so its routes attach to ``bp``."""
    import importlib
    import pkgutil

    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        importlib.import_module(f"{__name__}.{module}")
