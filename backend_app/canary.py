"""Canary routing per request: the variant is decided once, before the view, and shown on
every response as ``X-Variant`` (v1|v2) and ``X-Variant-Reason``.

The identity is the request's verified JWT (``auth.request_user``: ``Authorization: Bearer``
for the API, the access or refresh cookie for pages), read without touching flask-jwt-extended's
request state and without CSRF checks, so views that load the user themselves work as before; a
missing, invalid, expired or revoked token is simply "no user" (v1). The account it loads is the
one the view's own check gets (looked up once per request), so deciding costs no extra query.
An admin may send ``X-Force-Variant: v1|v2`` to choose the variant of their own requests
(ignored for everybody else). Responses served under v2 feed the guard (``services.flags.guard``).
When a v2 request was answered by v1 instead (``variant.serve_v1_instead``: the 2-second budget
ran out, or v2 failed), the headers say what served it (``X-Variant: v1``, ``X-Variant-Reason:
v2-timeout``) and the guard still counts the request as a v2 sample, an error.
``GET /api/runtime-config``, which reports the caller's variant, lives in ``api/ops.py``.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g, request

from backend_app.auth import request_user
from backend_app.services import flags
from backend_app.services.flags import guard
from backend_app.variant import served_variant, v2_failed

log = logging.getLogger(__name__)
FORCE_HEADER = "X-Force-Variant"
_DECIDED = "framewise.variant_decided"


def decide_request_variant() -> tuple[str, str]:
    """(variant, reason) for the current request."""
    user = request_user()
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
    state.served_variant = None
    try:
        state.variant, state.variant_reason = decide_request_variant()
    except Exception:  # the variant must never be why a request fails
        log.exception("variant decision failed; serving v1")
        state.variant, state.variant_reason = "v1", "flag off"


def _stamp(response: Response) -> Response:
    _decide()  # when an earlier hook failed before ours ran
    state = g._get_current_object()
    # What served the response (v1 when v2 timed out or failed and fell back), decided or not.
    response.headers["X-Variant"], response.headers["X-Variant-Reason"] = served_variant() or (
        state.variant,
        state.variant_reason,
    )
    if state.variant == "v2":  # a v2 sample for the guard, also when v1 answered in its place
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
