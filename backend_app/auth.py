"""Who is asking: JWT verification for API and pages, the current user and tenant."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask, g
from flask_jwt_extended import get_jwt, get_jwt_identity, verify_jwt_in_request

from backend_app.errors import AppError, Forbidden, Unauthorized
from backend_app.extensions import jwt
from backend_app.models.user import SignedInUser
from backend_app.services import accounts
from backend_app.tenancy import Tenant


def current_user() -> SignedInUser:
    user = g.get("user")
    if user is None:
        raise Unauthorized()
    return user


def current_tenant(session_id: str | None = None) -> Tenant:
    return Tenant(current_user().id, session_id)


def load_user(optional: bool = False, refresh: bool = False) -> SignedInUser | None:
    """Verify the request's token and load its still-enabled user into ``g.user``."""
    verify_jwt_in_request(optional=optional, refresh=refresh)
    identity = get_jwt_identity()
    if identity is None:
        return None
    g.user = accounts.active_user(identity)
    g.jwt_claims = get_jwt()
    return g.user


def login_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        load_user()
        return view(*args, **kwargs)

    return wrapper


def admin_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        user = load_user()
        if not user.is_admin:
            raise Forbidden("This needs an admin account.", code="ADMIN_REQUIRED")
        return view(*args, **kwargs)

    return wrapper


def register_jwt_callbacks(app: Flask) -> None:
    """Make flask-jwt-extended's failures speak the one error shape."""
    from backend_app.errors import render_error

    def fail(code: str, message: str, status: int = 401):
        return render_error(AppError(message, code=code, status=status))

    @jwt.token_in_blocklist_loader
    def _revoked(_header, payload) -> bool:
        return accounts.is_revoked(payload["jti"], payload.get("type", "access"))

    jwt.unauthorized_loader(lambda reason: fail("AUTH_REQUIRED", f"Sign in to continue ({reason})."))
    jwt.invalid_token_loader(lambda reason: fail("TOKEN_INVALID", f"The token is not valid: {reason}."))
    jwt.expired_token_loader(lambda _h, _p: fail("TOKEN_EXPIRED", "The token has expired; refresh or sign in again."))
    jwt.revoked_token_loader(lambda _h, _p: fail("TOKEN_REVOKED", "The token has been revoked; sign in again."))
    jwt.needs_fresh_token_loader(lambda _h, _p: fail("FRESH_TOKEN_REQUIRED", "Sign in again to do this."))
    jwt.user_lookup_error_loader(lambda _h, _p: fail("ACCOUNT_DISABLED", "This account no longer exists."))
