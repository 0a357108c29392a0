"""Who is asking: one way from a token to a user, for the API, the pages and the canary.

``token_user`` is that way: a raw JWT is verified (signature, expiry, type, the revocation
list) and its account loaded while it still exists and is enabled. The API's views let
flask-jwt-extended find and check the request's token (header, or cookie with CSRF) and then
load the same account (``load_user``); pages sign in with the refresh cookie
(``web.load_page_user``); the canary asks ``request_user``, which never raises. The account and
the revocation check are looked up once per request whoever asks (``services.accounts``), so
the canary's decision costs no query of its own.

API keys (``services.api_keys``) take the same path: a key sent as ``X-API-Key: fw_…`` or
``Authorization: Bearer fw_…`` is resolved once per request, by ``request_user`` (the canary)
and ``load_user`` (the views) alike, on the JSON API and the compatibility routes
(``accepts_api_keys``); pages never read one. ``load_user`` then holds the key to its scope.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import NamedTuple

from flask import Flask, g, request
from flask_jwt_extended import decode_token, get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError
from sqlalchemy.exc import SQLAlchemyError

from backend_app.errors import AppError, Forbidden, Unauthorized, render_error
from backend_app.extensions import db, jwt
from backend_app.models.user import SignedInUser
from backend_app.observability import bind_log_ids
from backend_app.services import accounts, api_keys, signins
from backend_app.tenancy import Tenant

API_KEY_HEADER = "X-API-Key"
# Blueprints whose views take API keys: the JSON API, the compatibility routes, /api/runtime-config.
KEY_BLUEPRINTS = ("api", "compat", "ops")
_KEY_USE = "framewise.api_key_use"
ACCESS_COOKIE = "access_token_cookie"
REFRESH_COOKIE = "refresh_token_cookie"


class Identity(NamedTuple):
    claims: dict
    user: SignedInUser


def verified_claims(raw: str | None, token_type: str | None = None, *, cookie: bool = False) -> dict | None:
    """The claims of a raw JWT, or None when it is absent, invalid, expired, revoked or (when
    ``token_type`` is given) of another type: an access token in the refresh cookie is no sign-in.
    A replayed refresh token ends its sign-in (``services.signins``; ``cookie`` allows the pages'
    short window for concurrent requests)."""
    if not raw:
        return None
    try:
        claims = decode_token(raw)
    except (PyJWTError, JWTExtendedException):
        return None
    kind = claims.get("type", "access")
    if token_type is not None and kind != token_type:
        return None
    if signins.refusal(claims, cookie=cookie):
        return None
    return claims


def token_user(raw: str | None, token_type: str | None = None, *, cookie: bool = False) -> Identity | None:
    """The token's claims and its account; None when the token signs nobody in (see
    ``verified_claims``). Raises ACCOUNT_DISABLED when the account is gone or disabled."""
    claims = verified_claims(raw, token_type, cookie=cookie)
    if claims is None:
        return None
    identity = Identity(claims, accounts.active_user(claims["sub"]))
    bind_log_ids(user_id=claims["sub"])  # every later line of this request says who asked
    return identity


def accepts_api_keys() -> bool:
    """Whether this request's view takes API keys (the API and the compatibility routes)."""
    return request.blueprint in KEY_BLUEPRINTS or request.path.startswith("/api/")


def presented_api_key() -> str | None:
    """The API key the request carries (``X-API-Key``, or a bearer value starting ``fw_``), if any."""
    key = request.headers.get(API_KEY_HEADER, "").strip()
    if key:
        return key
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and api_keys.looks_like_key(header[7:].strip()):
        return header[7:].strip()
    return None


def key_use() -> api_keys.KeyUse | None:
    """The API key that signed this request in (None: a token or cookie did, or nobody)."""
    return request.environ.get(_KEY_USE)


def _user_of_key(raw: str) -> SignedInUser | None:
    try:
        return api_keys.identify(raw).user
    except SQLAlchemyError:
        db.session.rollback()
        return None
    except Exception:  # unknown, expired, revoked, over its limit, of a disabled account: no identity
        return None


def request_user() -> SignedInUser | None:
    """The signed-in user behind the request's token, or None; never raises (the canary asks
    before any view). An API key where keys are taken, else the API's bearer header, else the
    page's cookies: the access one, or the refresh one once the access one has expired."""
    raw_key = presented_api_key() if accepts_api_keys() else None
    if raw_key is not None:
        return _user_of_key(raw_key)
    header = request.headers.get("Authorization", "")
    cookie = header[:7].lower() != "bearer "
    if not cookie:
        raws = [header[7:].strip()]
    else:
        raws = [request.cookies.get(ACCESS_COOKIE), request.cookies.get(REFRESH_COOKIE)]
    for raw in raws:
        try:
            found = token_user(raw, cookie=cookie)
        except SQLAlchemyError:
            db.session.rollback()  # leave the view a usable session; it reports the database itself
            continue
        except Exception:  # malformed, or of a disabled account: no identity
            continue
        if found is not None:
            return found.user
    return None


def current_user() -> SignedInUser:
    user = g.get("user")
    if user is None:
        raise Unauthorized()
    return user


def current_tenant(session_id: str | None = None) -> Tenant:
    return Tenant(current_user().id, session_id)


def load_user(
    optional: bool = False, refresh: bool = False, *, admin: bool = False, keys: bool = True
) -> SignedInUser | None:
    """Verify the request's token or API key and load its still-enabled user into ``g.user`` (API views).

    flask-jwt-extended finds the token (header, or cookie with its CSRF check), verifies it
    with the same revocation list and answers in the one error shape; the account is loaded
    as ``token_user`` loads it. An API key is resolved by ``services.api_keys`` (401
    API_KEY_INVALID / API_KEY_EXPIRED / API_KEY_REVOKED, 429 RATE_LIMITED) and must cover the
    request (403 INSUFFICIENT_SCOPE: ``admin`` views need the admin scope). Views that manage the
    sign-in itself (refresh, logout, making keys) pass ``keys=False``: a key is refused there
    with 403 API_KEY_NOT_ALLOWED.
    """
    raw_key = presented_api_key()
    if raw_key is not None:
        if refresh or not keys:
            raise Forbidden("An API key cannot do this; sign in with your password.", code="API_KEY_NOT_ALLOWED")
        use = api_keys.identify(raw_key)
        api_keys.require_scope(use, request.method, admin=admin)
        request.environ[_KEY_USE] = use
        g.user = use.user
        g.jwt_claims = {}
        bind_log_ids(user_id=use.user.id)
        return g.user
    verify_jwt_in_request(optional=optional, refresh=refresh)
    claims = get_jwt()
    if claims.get("sub") is None:
        return None
    g.user = accounts.active_user(claims["sub"])
    g.jwt_claims = claims
    bind_log_ids(user_id=claims["sub"])
    return g.user


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        load_user()
        return view(*args, **kwargs)

    return wrapper


def signin_required(view: Callable) -> Callable:
    """Like ``login_required``, but only a sign-in (token or cookie) will do, never an API key."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        load_user(keys=False)
        return view(*args, **kwargs)

    return wrapper


def admin_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = load_user(admin=True)
        if not user.is_admin:
            raise Forbidden("This needs an admin account.", code="ADMIN_REQUIRED")
        return view(*args, **kwargs)

    return wrapper


def register_jwt_callbacks(app: Flask) -> None:
    """Make flask-jwt-extended's failures speak the one error shape."""

    def fail(code: str, message: str, status: int = 401):
        return render_error(AppError(message, code=code, status=status))

    @jwt.token_in_blocklist_loader
    def _revoked(_header, payload) -> bool:
        refusal = signins.refusal(payload)
        if refusal == "TOKEN_REUSED":
            raise signins.reused()
        return refusal is not None

    jwt.unauthorized_loader(lambda reason: fail("AUTH_REQUIRED", f"Sign in to continue ({reason})."))
    jwt.invalid_token_loader(lambda reason: fail("TOKEN_INVALID", f"The token is not valid: {reason}."))
    jwt.expired_token_loader(lambda _h, _p: fail("TOKEN_EXPIRED", "The token has expired; refresh or sign in again."))
    jwt.revoked_token_loader(lambda _h, _p: fail("TOKEN_REVOKED", "The token has been revoked; sign in again."))
    jwt.needs_fresh_token_loader(lambda _h, _p: fail("FRESH_TOKEN_REQUIRED", "Sign in again to do this."))
    jwt.user_lookup_error_loader(lambda _h, _p: fail("ACCOUNT_DISABLED", "This account no longer exists."))
