"""Endpoints about the deployment, outside the versioned API: /ping, /health, /metrics, and
/api/runtime-config (settings, flag states and the caller's variant, for any signed-in user)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify

from backend_app.auth import load_user
from backend_app.extensions import db
from backend_app.observability import metrics_response
from backend_app.services import flags, health
from backend_app.services.flags import guard

bp = Blueprint("ops", __name__)


@bp.get("/ping")
def ping():
    return jsonify({"pong": True})


@bp.get("/health")
def health_report():
    healthy, report = health.full_report()
    return jsonify(report), (200 if healthy else 503)


@bp.get("/health/analysis-pipeline")
def analysis_pipeline():
    """A tiny generated video through the real analysis pipeline (cached); 503 when it fails."""
    from backend_app.services.video import pipeline_check  # imports cv2 only when asked

    ok, report = pipeline_check.check()
    return jsonify(report), (200 if ok else 503)


@bp.get("/metrics")
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
def runtime_config():
    """Settings (all non-secret ones for an admin, the client-facing ones for everybody else),
    flag states and the caller's variant (any signed-in user)."""
    user = load_user()
    settings = current_app.config["SETTINGS"]
    return jsonify(
        {
            "settings": settings.public_dict() if user.is_admin else settings.client_dict(),
            "flags": {
                key: {"enabled": v.enabled, "rollout_percent": v.rollout_percent}
                for key, v in sorted(flags.snapshot().items())
            },
            "variant": {"variant": g.variant, "reason": g.variant_reason},
            "guard": guard.status(),
        }
    )
