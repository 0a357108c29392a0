"""Canary routing per request: the variant is decided once, before the view, and shown on
every response as ``X-Variant`` (v1|v2) and ``X-Variant-Reason``.

The identity is read from the verified JWT (``Authorization: Bearer`` for the API, the
access or refresh cookie for pages) without touching flask-jwt-extended's request state
and without CSRF checks, so views that load the user themselves work as before; a
missing, invalid, expired or revoked token is simply "no user" (v1). An admin may send
``X-Force-Variant: v1|v2`` to choose the variant of their own requests (ignored for
everybody else). Responses served under v2 feed the guard (``services.flags.guard``).

Also ``GET /api/runtime-config``: settings (every non-secret one for admins, the client-facing
ones for others) and flag states for any signed-in user (outside /api/v1 on purpose: it
describes the deployment, not a resource).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_jwt_extended import decode_token
from sqlalchemy.exc import SQLAlchemyError

from backend_app.auth import load_user
from backend_app.extensions import db
from backend_app.models.user import SignedInUser
from backend_app.services import accounts, flags
from backend_app.services.flags import guard
from backend_app.variant import v2_failed

log = logging.getLogger(__name__)
bp = Blueprint("canary", __name__)
FORCE_HEADER = "X-Force-Variant"
_DECIDED = "framewise.variant_decided"


def _raw_tokens() -> list[str]:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return [header[7:].strip()]
    # Pages: the access cookie, or the refresh cookie once the access one has expired.
    return [request.cookies.get(name, "") for name in ("access_token_cookie", "refresh_token_cookie")]


def _verified_user(raw: str) -> SignedInUser | None:
    try:
        claims = decode_token(raw)
        if accounts.is_revoked(claims["jti"], claims.get("type", "access")):
            return None
        return accounts.active_user(claims["sub"])
    except SQLAlchemyError:
        db.session.rollback()  # leave the view a usable session; it reports the database itself
        return None
    except Exception:  # invalid, expired, malformed or of a disabled account: no identity
        return None


def request_identity() -> SignedInUser | None:
    """The signed-in user behind the request's token, or None; never raises."""
    for raw in _raw_tokens():
        user = _verified_user(raw) if raw else None
        if user is not None:
            return user
    return None


def decide_request_variant() -> tuple[str, str]:
    """(variant, reason) for the current request."""
    user = request_identity()
    forced = request.headers.get(FORCE_HEADER, "").strip().lower()
    if user is not None and user.is_admin and forced in ("v1", "v2"):
        return forced, "forced by admin"
    return flags.decide(user.id if user else None)


def _decide() -> None:
    # Marked on the request, not on g: g belongs to the app context, which a test client
    # (or any caller with a pushed context) shares between requests.
    environ = request.environ
    if environ.get(_DECIDED):
        return
    environ[_DECIDED] = True
    state = g._get_current_object()
    state.v2_failed = False
    try:
        state.variant, state.variant_reason = decide_request_variant()
    except Exception:  # the variant must never be why a request fails
        log.exception("variant decision failed; serving v1")
        state.variant, state.variant_reason = "v1", "flag off"


def _stamp(response: Response) -> Response:
    _decide()  # when an earlier hook failed before ours ran
    state = g._get_current_object()
    response.headers["X-Variant"] = state.variant
    response.headers["X-Variant-Reason"] = state.variant_reason
    if state.variant == "v2":
        try:
            guard.record(response.status_code >= 500 or v2_failed())
        except Exception:
            log.exception("canary guard failed to record a sample")
    return response


def init_app(app: Flask) -> None:
    """Decide the variant before every request and stamp it on every response.

    Call after ``observability.init_app`` so the header is set before the request metrics
    (labelled by variant) and the access log read it.
    """
    app.before_request(_decide)
    app.after_request(_stamp)
    app.register_blueprint(bp)


@bp.get("/api/runtime-config")
def runtime_config():
    """Settings (all non-secret ones for an admin, the client-facing ones for everybody else),
    flag states and the caller's variant (any signed-in user)."""
    user = load_user()
    settings = current_app.config["SETTINGS"]
    return jsonify(
        {
            "settings": settings.public_dict() if user.is_admin else settings.client_dict(),
            "flags": {
                key: {"enabled": v.enabled, "rollout_percent": v.rollout_percent}
                for key, v in sorted(flags.snapshot().items())
            },
            "variant": {"variant": g.variant, "reason": g.variant_reason},
            "guard": guard.status(),
        }
    )
