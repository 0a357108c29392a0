"""The request's code-path variant (v1 or v2), decided once per request.

Code paths that have a v2 ask ``current_variant()``. The feature-flag layer decides it
before the view runs (``use_v2`` flag with sticky canary bucketing); until it has, and
outside a request (e.g. in a worker), the answer is the stable v1.
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


def v2_failed() -> bool:
    return has_request_context() and bool(g.get("v2_failed"))
