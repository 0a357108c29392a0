"""Accounts: register, login, refresh, logout, me."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_jwt_extended import decode_token, get_jwt

from backend_app.api import bp, doc, obj
from backend_app.api.schemas import ref, shape, text
from backend_app.auth import current_user, load_user, login_required
from backend_app.extensions import limiter
from backend_app.services import accounts
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
@limiter.limit(_login_limit)
@doc(
    "Sign in; returns access and refresh tokens",
    tag="auth",
    body=CREDENTIALS,
    auth="none",
    responses={200: "Tokens", 401: "INVALID_CREDENTIALS", 429: "RATE_LIMITED"},
    returns=TOKENS,
)
def login():
    data = fields(json_body(), {"email": str, "password": str})
    user = accounts.authenticate(data["email"], data["password"])
    return jsonify({**accounts.issue_tokens(user), "token_type": "Bearer", "user": user.to_dict()})


@bp.post("/auth/refresh")
@doc(
    "Exchange a refresh token for a new access token",
    tag="auth",
    auth="refresh",
    responses={200: "New access token", 401: "TOKEN_INVALID / TOKEN_REVOKED"},
    returns=shape({"access_token": {"type": "string"}, "token_type": {"const": "Bearer"}}),
)
def refresh():
    user = load_user(refresh=True)
    tokens = accounts.issue_tokens(user)
    return jsonify({"access_token": tokens["access_token"], "token_type": "Bearer"})


@bp.post("/auth/logout")
@doc(
    "Revoke the presented token (send the refresh token too, in the body, to revoke both)",
    tag="auth",
    body=obj(optional={"refresh_token": "string"}),
    responses={200: "Revoked"},
    returns=shape({"revoked": {"type": "array", "items": {"enum": ["access", "refresh"]}}}),
    optional_body=True,
)
@login_required
def logout():
    claims = get_jwt()
    accounts.revoke(claims["jti"], current_app.config["JWT_ACCESS_TOKEN_EXPIRES"])
    revoked = ["access"]
    try:
        body = request.get_json(silent=True) if request.is_json else None
    except RecursionError:  # optional body: nested past the parser's depth is no body
        body = None
    if isinstance(body, dict) and isinstance(body.get("refresh_token"), str):
        try:
            refresh_claims = decode_token(body["refresh_token"], allow_expired=True)
        except Exception:
            refresh_claims = None
        if refresh_claims and refresh_claims.get("sub") == claims.get("sub"):
            accounts.revoke(refresh_claims["jti"], current_app.config["JWT_REFRESH_TOKEN_EXPIRES"])
            revoked.append("refresh")
    return jsonify({"revoked": revoked})


@bp.get("/auth/me")
@doc("The signed-in account", tag="auth", responses={200: "{id, email, role}"}, returns=ref("Account"))
@login_required
def me():
    return jsonify(current_user().to_dict())
