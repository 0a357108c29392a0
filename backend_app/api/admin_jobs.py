"""Admin view of jobs."""

from __future__ import annotations

from flask import jsonify, request

from ..auth import admin_required
from ..errors import ValidationError
from ..jobs.enqueue import submit
from ..models.job import STATUSES
from ..services import jobs as jobs_service
from ..validation import int_arg
from . import bp, doc


@bp.get("/admin/jobs")
@doc("Jobs by status (status=failed is the dead-letter list)", tag="admin", auth="admin",
     params={"status": "filter by status", "limit": "max rows (default 100)"})
@admin_required
def list_jobs():
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)}",
                              details={"fields": {"status": "unknown status"}})
    rows = jobs_service.list_jobs(status=status, limit=int_arg("limit", 100, low=1, high=1000))
    return jsonify({"jobs": [j.to_dict() for j in rows]})


@bp.post("/admin/jobs/selftest")
@doc("Run a self-test job through Redis and a worker", tag="admin", auth="admin", responses={202: "Queued"})
@admin_required
def selftest():
    job = submit("selftest", user_id=None, payload={"echo": "ping"})
    return jsonify(job.to_dict()), 202


@bp.get("/admin/jobs/<job_id>")
@doc("One job", tag="admin", auth="admin", responses={200: "OK", 404: "JOB_NOT_FOUND"})
@admin_required
def get_job(job_id: str):
    return jsonify(jobs_service.get_job(job_id).to_dict())
