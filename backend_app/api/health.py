"""Health under /api/v1."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc
from backend_app.api.schemas import shape
from backend_app.services import health

HEALTH = shape({"status": {"enum": ["ok", "down"]}, "database": {"type": "object"}})


@bp.get("/simple-health")
@doc(
    "Liveness with a database round trip",
    tag="health",
    auth="none",
    responses={200: "ok", 503: ("database down", HEALTH)},
    returns=HEALTH,
)
def simple_health():
    result = health.timed(health.check_database)
    return jsonify({"status": "ok" if result["ok"] else "down", "database": result}), (200 if result["ok"] else 503)
