"""Where Framewise leans on a dependency beyond its public API, these fail loudly, naming it.

flask-jwt-extended has no public hook for how a token is decoded: ``RequestScopedJWTManager``
overrides the manager's private ``_decode_jwt_from_config`` (the pinned version is in
requirements.txt). flask-limiter 4.x lost ``auto_check=False``: the factory drops the hook that
``init_app`` adds, found by what it added.
"""

from __future__ import annotations

import inspect
from datetime import timedelta

import flask_jwt_extended
import flask_limiter
import jwt as pyjwt
import pytest
from flask import current_app
from flask_jwt_extended import JWTManager, create_access_token, decode_token
from flask_jwt_extended.exceptions import CSRFError, JWTDecodeError

from backend_app.extensions import RequestScopedJWTManager, jwt, request_memo

PRIVATE = f"flask_jwt_extended {flask_jwt_extended.__version__}: JWTManager._decode_jwt_from_config"


def test_flask_jwt_extended_still_decodes_through_the_private_method_we_override(app):
    assert "_decode_jwt_from_config" in vars(JWTManager), f"{PRIVATE} is gone: RequestScopedJWTManager is dead code"
    params = list(inspect.signature(JWTManager._decode_jwt_from_config).parameters)
    assert params == ["self", "encoded_token", "csrf_value", "allow_expired"], f"{PRIVATE} changed: {params}"
    token = create_access_token(identity="someone")
    with app.test_request_context("/"):
        decode_token(token)  # the library's public path
        assert (token, None, False) in request_memo("verified_jwts"), f"{PRIVATE} is no longer called"


def stock(token: str, csrf_value=None, allow_expired=False) -> dict:
    """flask-jwt-extended's own verification (no request context: the override hands over)."""
    return JWTManager._decode_jwt_from_config(jwt, token, csrf_value, allow_expired)


def ours(token: str, csrf_value=None, allow_expired=False) -> dict:
    with current_app.test_request_context("/"):
        return jwt._decode_jwt_from_config(token, csrf_value, allow_expired)


def outcome(decode, *args) -> object:
    try:
        claims = decode(*args)
    except Exception as exc:  # the same kind of error, with the same words
        return type(exc), str(exc), getattr(exc, "jwt_data", None)
    claims.pop("exp", None), claims.pop("iat", None), claims.pop("nbf", None)
    return claims


@pytest.mark.sqlite_only
def test_our_verification_makes_the_same_checks_with_the_same_errors_as_the_library(app):
    assert isinstance(jwt, RequestScopedJWTManager)
    settings = app.config
    secret, algorithm = settings["JWT_SECRET_KEY"], "HS256"
    cookie = create_access_token(identity="u1")  # carries a csrf claim (cookies are a token location)
    csrf = pyjwt.decode(cookie, secret, algorithms=[algorithm])["csrf"]
    expired = create_access_token(identity="u1", expires_delta=timedelta(seconds=-60))
    bare = pyjwt.encode({"sub": "u1", "exp": 9_999_999_999}, secret, algorithm=algorithm)  # no type/fresh/jti/csrf
    no_identity = pyjwt.encode({"exp": 9_999_999_999, "type": "access"}, secret, algorithm=algorithm)
    forged = pyjwt.encode({"sub": "u1"}, "another key, as long as HS256 asks for", algorithm=algorithm)
    cases = [
        (cookie, None, False),
        (cookie, csrf, False),
        (cookie, "not the csrf value", False),
        (bare, None, False),
        (bare, "a csrf value", False),
        (expired, None, False),
        (expired, None, True),
        (no_identity, None, False),
        (forged, None, False),
        ("not a token", None, False),
    ]
    kinds = set()
    for case in cases:
        expected, got = outcome(stock, *case), outcome(ours, *case)
        assert got == expected, f"{case}: {got} != the library's {expected} ({PRIVATE})"
        kinds.add(expected[0] if isinstance(expected, tuple) else dict)
    assert {dict, CSRFError, JWTDecodeError, pyjwt.ExpiredSignatureError} <= kinds  # the cases cover every check


def test_the_rate_limiter_adds_no_hook_to_requests_that_check_no_limit(app):
    version = f"flask-limiter {flask_limiter.__version__}"
    before = app.before_request_funcs[None]
    assert not any(getattr(f, "__module__", "").startswith("flask_limiter") for f in before), version
    assert not any(getattr(getattr(f, "__self__", None), "__module__", "").startswith("flask_limiter") for f in before)
    after, teardown = app.after_request_funcs[None], app.teardown_request_funcs[None]
    assert "rate_limit_headers" in [f.__name__ for f in after if hasattr(f, "__name__")], version
    assert "release_limiter_context" in [f.__name__ for f in teardown if hasattr(f, "__name__")], version


def test_the_llm_clients_connections_keep_deadlines():
    """httpx builds its pool without a network-backend argument: adapters/llm.py sets the pool's
    private ``_network_backend``. A new httpcore that stops using it would silently drop the deadline."""
    import httpcore2

    from backend_app.adapters import llm

    transport = llm._deadline_transport()
    name = f"httpcore2 {httpcore2.__version__}: ConnectionPool._network_backend"
    assert isinstance(transport._pool, httpcore2.ConnectionPool), name
    assert type(transport._pool._network_backend).__name__ == "DeadlineBackend", f"{name} is not ours"
    source = inspect.getsource(httpcore2.ConnectionPool.create_connection)
    assert "network_backend=self._network_backend" in source, f"{name} is no longer what connections are made with"
