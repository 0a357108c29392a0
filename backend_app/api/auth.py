"""Accounts: register, login, refresh (rotating), logout, sign out everywhere, me."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask_jwt_extended import decode_token, get_jwt

from backend_app.api import bp, doc, obj
from backend_app.api.schemas import ref, shape, text
from backend_app.auth import current_user, load_user, login_required, signin_required
from backend_app.extensions import limiter
from backend_app.services import accounts, signins
from backend_app.validation import fields, json_body

# What register enforces (services/accounts): an address with one @ and a dot after it, at most
# 254 characters, and a password of 8-1024 characters (a weak one is refused, with 422, beyond what
# a schema can say). Login takes any non-blank strings: a wrong pair is one uniform 401.
EMAIL = {"type": "string", "pattern": r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$", "maxLength": 254}
NEW_CREDENTIALS = obj({"email": EMAIL, "password": {"type": "string", "minLength": 8, "maxLength": 1024}})
CREDENTIALS = obj({"email": text(), "password": text()})
TOKENS = shape(
    {"access_token": {"type": "string"}, "refresh_token": {"type": "string"}, "token_type": {"const": "Bearer"}},
    {"user": ref("Account")},
)


def _login_limit() -> str:
    return current_app.config["SETTINGS"].login_rate_limit


def _failed(response: Response) -> bool:
    """Only failed sign-ins count against the address: many people behind one address sign in."""
    return response.status_code >= 400


@bp.post("/auth/register")
@limiter.limit(_login_limit)
@doc(
    "Create an account",
    tag="auth",
    body=NEW_CREDENTIALS,
    auth="none",
    responses={201: "Created", 409: "EMAIL_TAKEN", 422: "VALIDATION_ERROR (also: a weak password)"},
    returns=ref("Account"),
)
def register():
    data = fields(json_body(), {"email": str, "password": str})
    user = accounts.register(data["email"], data["password"])
    return jsonify(user.to_dict()), 201


@bp.post("/auth/login")
@limiter.limit(_login_limit, deduct_when=_failed)
@doc(
    "Sign in; returns access and refresh tokens",
    tag="auth",
    body=CREDENTIALS,
    auth="none",
    responses={200: "Tokens", 401: "INVALID_CREDENTIALS", 429: "RATE_LIMITED / LOGIN_THROTTLED"},
    returns=TOKENS,
)
def login():
    data = fields(json_body(), {"email": str, "password": str})
    user = accounts.authenticate(data["email"], data["password"])
    return jsonify({**accounts.issue_tokens(user), "token_type": "Bearer", "user": user.to_dict()})


@bp.post("/auth/refresh")
@doc(
    "Exchange a refresh token for new access and refresh tokens; the one sent is used up, and "
    "sending it again ends the sign-in on every device (TOKEN_REUSED)",
    tag="auth",
    auth="refresh",
    responses={200: "New access and refresh tokens", 401: "TOKEN_INVALID / TOKEN_REVOKED / TOKEN_REUSED"},
    returns=shape(
        {"access_token": {"type": "string"}, "refresh_token": {"type": "string"}, "token_type": {"const": "Bearer"}}
    ),
)
def refresh():
    load_user(refresh=True)
    tokens = signins.rotate(get_jwt())
    return jsonify({**tokens, "token_type": "Bearer"})


@bp.post("/auth/logout")
@doc(
    "Sign out: ends the sign-in of the presented token, its refresh token included (a refresh_token "
    "of another of your sign-ins in the body ends that one too)",
    tag="auth",
    body=obj(optional={"refresh_token": "string"}),
    responses={200: "Revoked"},
    returns=shape({"revoked": {"type": "array", "items": {"enum": ["access", "refresh"]}}}),
    optional_body=True,
)
@signin_required
def logout():
    claims = get_jwt()
    signins.end(claims)
    revoked = ["access", "refresh"] if claims.get("fam") else ["access"]
    try:
        body = request.get_json(silent=True) if request.is_json else None
    except RecursionError:  # optional body: nested past the parser's depth is no body
        body = None
    if isinstance(body, dict) and isinstance(body.get("refresh_token"), str):
        try:
            refresh_claims = decode_token(body["refresh_token"], allow_expired=True)
        except Exception:
            refresh_claims = None
        if (
            refresh_claims
            and refresh_claims.get("sub") == claims.get("sub")
            and refresh_claims.get("type") == "refresh"
        ):
            signins.end(refresh_claims)
            if "refresh" not in revoked:
                revoked.append("refresh")
    return jsonify({"revoked": revoked})


@bp.post("/auth/logout-all")
@doc(
    "Sign out everywhere: end every sign-in of this account (all devices), this one included",
    tag="auth",
    responses={200: "{signed_out: number of sign-ins ended}"},
    returns=shape({"signed_out": {"type": "integer", "minimum": 0}}),
)
@signin_required
def logout_all():
    claims = get_jwt()
    ended = signins.end_all(claims["sub"])
    if not claims.get("fam"):
        signins.end(claims)  # a token of no sign-in (made by a tool) is revoked by itself
    return jsonify({"signed_out": ended})


@bp.get("/auth/me")
@doc("The signed-in account", tag="auth", responses={200: "{id, email, role}"}, returns=ref("Account"))
@login_required
def me():
    return jsonify(current_user().to_dict())
