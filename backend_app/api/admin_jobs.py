"""Admin view of jobs: by status, one job, retries, the reconciler, the diagnosis (the pages: web/admin_jobs.py)."""

from __future__ import annotations

from flask import jsonify, request

from backend_app.api import bp, doc, obj
from backend_app.api.schemas import JOB_STATUS, list_of, ref, shape
from backend_app.auth import admin_required
from backend_app.errors import ValidationError
from backend_app.models.job import STATUSES
from backend_app.services import jobs as jobs_service
from backend_app.services.job_diagnostics import diagnose as run_diagnosis
from backend_app.services.jobs import MAX_STALE_MINUTES
from backend_app.validation import fields, int_arg, json_body


@bp.get("/admin/jobs")
@doc(
    "Jobs by status (status=failed is the dead-letter list)",
    tag="admin",
    auth="admin",
    params={
        "status": {"description": "filter by status", **JOB_STATUS},
        "limit": {"description": "max rows (default 100)", "type": "integer", "minimum": 1, "maximum": 1000},
    },
    returns=list_of("jobs", ref("Job")),
)
@admin_required
def list_jobs():
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ValidationError(
            f"status must be one of {', '.join(STATUSES)}", details={"fields": {"status": "unknown status"}}
        )
    rows = jobs_service.list_jobs(status=status, limit=int_arg("limit", 100, low=1, high=1000))
    return jsonify({"jobs": [j.to_dict() for j in rows]})


@bp.post("/admin/jobs/selftest")
@doc(
    "Run a self-test job through Redis and a worker",
    tag="admin",
    auth="admin",
    responses={202: "Queued"},
    returns=ref("Job"),
)
@admin_required
def selftest():
    job = jobs_service.submit_selftest()
    return jsonify(job.to_dict()), 202


@bp.get("/admin/jobs/<hexid:job_id>")
@doc("One job", tag="admin", auth="admin", responses={200: "OK", 404: "JOB_NOT_FOUND"}, returns=ref("Job"))
@admin_required
def get_job(job_id: str):
    return jsonify(jobs_service.get_job(job_id).to_dict())


def _optional_body() -> dict:
    """A JSON object when one was sent; an empty POST means all defaults."""
    return json_body() if request.content_length or request.is_json else {}


FORCE_BODY = obj(optional={"force": "boolean"})


def _force() -> bool:
    """``force`` from an optional JSON body: retry what a retry cannot help (after changing the limits)."""
    return bool(fields(_optional_body(), optional={"force": bool}).get("force", False))


@bp.post("/admin/jobs/<hexid:job_id>/retry")
@doc(
    "Retry a failed or canceled job (fresh attempts); force=true also one whose failure a retry cannot change",
    tag="admin",
    auth="admin",
    body=FORCE_BODY,
    optional_body=True,
    responses={200: "Queued again", 404: "JOB_NOT_FOUND", 409: "JOB_NOT_RETRYABLE", 422: "VALIDATION_ERROR"},
    returns=ref("Job"),
)
@admin_required
def retry_job(job_id: str):
    force = _force()
    return jsonify(jobs_service.retry(jobs_service.get_job(job_id), force=force).to_dict())


@bp.post("/admin/jobs/retry-failed")
@doc(
    "Retry every failed job a retry can help; the others are skipped and counted by code (force=true retries them too)",
    tag="admin",
    auth="admin",
    body=FORCE_BODY,
    optional_body=True,
    responses={200: "OK", 422: "VALIDATION_ERROR"},
    returns=list_of(
        "jobs",
        ref("Job"),
        retried={"type": "integer"},
        skipped={"type": "integer"},
        skipped_by_code={"type": "object", "additionalProperties": {"type": "integer"}},
    ),
)
@admin_required
def retry_failed():
    outcome = jobs_service.retry_failed(force=_force())
    return jsonify(
        {
            "retried": len(outcome.retried),
            "skipped": outcome.skipped_count,
            "skipped_by_code": dict(outcome.skipped),
            "jobs": [j.to_dict() for j in outcome.retried],
        }
    )


@bp.post("/admin/jobs/requeue-stale")
@doc(
    "Re-enqueue queued jobs older than max_age_minutes that no live RQ job will run",
    tag="admin",
    auth="admin",
    body=obj(
        optional={
            "max_age_minutes": {"type": "number", "minimum": 0, "maximum": MAX_STALE_MINUTES},
            "dry_run": "boolean",
        }
    ),
    optional_body=True,
    responses={200: "What was (or would be) re-enqueued", 422: "VALIDATION_ERROR"},
    returns=shape(
        {
            "dry_run": {"type": "boolean"},
            "max_age_minutes": {"type": "number"},
            "count": {"type": "integer"},
            "jobs": {"type": "array"},
        }
    ),
)
@admin_required
def requeue_stale():
    data = fields(_optional_body(), optional={"max_age_minutes": float, "dry_run": bool})
    minutes = data.get("max_age_minutes", 10)
    dry_run = data.get("dry_run", False)
    found = jobs_service.requeue_stale(minutes, dry_run=dry_run)
    return jsonify({"dry_run": dry_run, "max_age_minutes": minutes, "count": len(found), "jobs": found})


@bp.post("/admin/jobs/reconcile")
@doc(
    "Run one reconciler pass now (stale queued, lost running, overdue jobs)",
    tag="admin",
    auth="admin",
    body=obj(optional={"dry_run": "boolean"}),
    optional_body=True,
    returns={"type": "object"},
)
@admin_required
def reconcile():
    data = fields(_optional_body(), optional={"dry_run": bool})
    return jsonify(jobs_service.reconcile_now(dry_run=data.get("dry_run", False)))


@bp.get("/admin/jobs/diagnose")
@doc(
    "Workers, queues, stuck and failed jobs, each problem named, with a verdict",
    tag="admin",
    auth="admin",
    returns=shape({"verdict": {"type": "string"}, "problems": {"type": "array", "items": {"type": "string"}}}),
)
@admin_required
def diagnose():
    return jsonify(run_diagnosis())
