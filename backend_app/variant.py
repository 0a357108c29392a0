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
