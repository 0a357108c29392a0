"""``/docs``: the browsable API reference (the original systems served theirs at the same path).

Swagger UI, vendored from the npm registry under ``static/vendor/swagger-ui/`` (version, licence
and checksums in its VERSION file; no CDN), reading ``/api/v1/openapi.json``. Its start-up lives
in ``static/docs.js``, so the page runs no inline script and the app's CSP holds unchanged.
Open to everybody, as the OpenAPI document is; "Authorize" takes a bearer token or an API key.
"""

from __future__ import annotations

from flask import render_template

from backend_app.web import bp


@bp.get("/docs")
def api_docs():
    return render_template("docs.html")
