"""Endpoints about the deployment, outside the versioned API: /ping, /health, /metrics, and
/api/runtime-config (settings, flag states and the caller's variant, for any signed-in user)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from backend_app.api import doc
from backend_app.api.schemas import PINS, shape
from backend_app.auth import load_user
from backend_app.extensions import db
from backend_app.observability import metrics_response
from backend_app.services import flags, health
from backend_app.services.flags import guard

bp = Blueprint("ops", __name__)
REPORT = shape({"status": {"type": "string"}, "checks": {"type": "object"}})
PIPELINE = shape({"ok": {"type": "boolean"}})


@bp.get("/ping")
@doc("Liveness: the process answers", tag="ops", auth="none", returns=shape({"pong": {"const": True}}))
def ping():
    return jsonify({"pong": True})


@bp.get("/health")
@doc(
    "Readiness: database, Redis, queues, workers, storage; 503 when one of them is down",
    tag="ops",
    auth="none",
    responses={200: "healthy or degraded", 503: ("unhealthy", REPORT)},
    returns=REPORT,
)
def health_report():
    healthy, report = health.full_report()
    return jsonify(report), (200 if healthy else 503)


@bp.get("/health/analysis-pipeline")
@doc(
    "A tiny generated video through the real analysis pipeline (cached); 503 when it fails",
    tag="ops",
    auth="none",
    responses={200: "OK", 503: ("the pipeline failed", PIPELINE)},
    returns=PIPELINE,
)
def analysis_pipeline():
    """A tiny generated video through the real analysis pipeline (cached); 503 when it fails."""
    from backend_app.services.video import pipeline_check  # imports cv2 only when asked

    ok, report = pipeline_check.check()
    return jsonify(report), (200 if ok else 503)


@bp.get("/metrics")
@doc("Prometheus metrics (text exposition format)", tag="ops", auth="none", media="text/plain")
def metrics():
    try:
        health.check_queues()  # refresh the queue-depth gauge at scrape time
    except Exception:
        pass  # Redis down: the gauge keeps its last value; /health says why
    try:
        health.count_job_rows()
    except Exception:
        db.session.rollback()  # the database down: the gauge keeps its last values; /health says why
    return metrics_response()


@bp.get("/api/runtime-config")
@doc(
    "Settings (all non-secret ones for an admin, the client-facing ones for everybody else), flag states, "
    "your variant and the canary guard's state",
    tag="ops",
    responses={200: "OK", 401: "AUTH_REQUIRED"},
    returns=shape(
        {
            "settings": {"type": "object"},
            "flags": {
                "type": "object",
                "additionalProperties": shape(
                    {"enabled": {"type": "boolean"}, "rollout_percent": {"type": "integer"}},
                    {"pinned_by_environment": PINS},
                ),
            },
            "variant": shape({"variant": {"enum": ["v1", "v2"]}, "reason": {"type": "string"}}),
            "guard": {"type": ["object", "null"]},
        }
    ),
)
def runtime_config():
    """Settings (all non-secret ones for an admin, the client-facing ones for everybody else),
    flag states and the caller's variant (any signed-in user)."""
    user = load_user()
    settings = current_app.config["SETTINGS"]
    return jsonify(
        {
            "settings": settings.public_dict() if user.is_admin else settings.client_dict(),
            "flags": {
                key: {
                    "enabled": v.enabled,
                    "rollout_percent": v.rollout_percent,
                    "pinned_by_environment": flags.pinned_by_environment(key),
                }
                for key, v in sorted(flags.snapshot().items())
            },
            "variant": {"variant": g.variant, "reason": g.variant_reason},
            "guard": guard.status(),
        }
    )
