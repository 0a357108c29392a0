"""The request's code-path variant (v1 or v2), decided once per request.

Code paths that have a v2 ask ``current_variant()``. The feature-flag layer decides it
before the view runs (``use_v2`` flag with sticky canary bucketing; backend_app/canary.py);
until it has, and outside a request (e.g. in a worker), the answer is the stable v1.

Work decided earlier and run later (a batch stored with variant v2, run by an RQ worker)
asks ``effective_variant(stored)`` per item, so a rollback stops v2 there within a second too.
"""

from __future__ import annotations

from flask import g, has_request_context


def current_variant() -> str:
    if has_request_context():
        return g.get("variant", "v1")
    return "v1"


def report_v2_failure() -> None:
    """A v2 code path failed and fell back to v1: the canary guard counts it as a v2 error."""
    if has_request_context():
        g.v2_failed = True


def serve_v1_instead(reason: str, *, v2_error: bool = True) -> None:
    """v2 did not answer and v1's answer is served: the response says ``X-Variant: v1`` and
    ``X-Variant-Reason: <reason>`` (e.g. "v2-timeout"); the canary guard still counts the request
    as a v2 sample, an error unless ``v2_error`` is False."""
    if has_request_context():
        g.served_variant = ("v1", reason)
        if v2_error:
            g.v2_failed = True


def served_variant() -> tuple[str, str] | None:
    """(variant, reason) when the view served another variant than the one decided, else None."""
    return g.get("served_variant") if has_request_context() else None


def v2_failed() -> bool:
    return has_request_context() and bool(g.get("v2_failed"))


def effective_variant(stored: str) -> str:
    """The variant to run now for work decided earlier: v1 once ``use_v2`` is off (rolled back).

    Checked against this process's flag view, which follows any change within ~0.2 s; a
    forced or bucketed v2 stays v2 while the flag is on. Needs an app context.
    """
    if stored != "v2":
        return "v1"
    from backend_app.services.flags import USE_V2, snapshot

    view = snapshot().get(USE_V2)
    return "v2" if view is not None and view.enabled else "v1"
