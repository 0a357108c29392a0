"""Operational endpoints outside the versioned API: /ping, /health, /metrics."""

from __future__ import annotations

from flask import Blueprint, jsonify

from backend_app.extensions import db
from backend_app.observability import metrics_response
from backend_app.services import health

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
