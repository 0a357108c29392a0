"""Admin page: failed jobs with retry, stale queued jobs, the diagnosis (the API: api/admin_jobs.py)."""

from __future__ import annotations

from flask import redirect, request, url_for

from backend_app.errors import AppError, is_htmx
from backend_app.models.job import FAILED
from backend_app.services import job_diagnostics
from backend_app.services import jobs as jobs_service
from backend_app.web import bp, fragment_or_page, page_admin_required

STALE_MINUTES = 10


def _jobs_page(message: str | None = None, error: str | None = None):
    failed = jobs_service.list_jobs(status=FAILED, limit=200)
    return fragment_or_page(
        "admin/jobs.html",
        "partials/admin/_jobs.html",
        failed=failed,
        diagnosis=job_diagnostics.diagnose(),
        message=message,
        error=error,
    )


@bp.get("/admin/jobs")
@page_admin_required
def admin_jobs_page():
    return _jobs_page()


def _forced() -> bool:
    return request.form.get("force") in ("1", "true", "on")


@bp.post("/admin/jobs/<job_id>/retry")
@page_admin_required
def admin_retry_job_page(job_id: str):
    message, error = None, None
    try:
        job = jobs_service.retry(jobs_service.get_job(job_id), force=_forced())
        message = f"Job {job.id} is queued again."
    except AppError as exc:
        if exc.status == 404:
            raise
        error = exc.message
    if not is_htmx():
        return redirect(url_for("web.admin_jobs_page"), code=303)
    return _jobs_page(message, error)


@bp.post("/admin/jobs/retry-all")
@page_admin_required
def admin_retry_all_page():
    outcome = jobs_service.retry_failed(force=_forced())
    if not is_htmx():
        return redirect(url_for("web.admin_jobs_page"), code=303)
    skipped = f" {outcome.skipped_text()}." if outcome.skipped else ""
    return _jobs_page(f"{len(outcome.retried)} failed job(s) queued again.{skipped}")


@bp.post("/admin/jobs/requeue-stale")
@page_admin_required
def admin_requeue_stale_page():
    try:
        minutes = float(request.form.get("max_age_minutes") or STALE_MINUTES)
        requeued = jobs_service.requeue_stale(minutes)
    except ValueError:
        return _jobs_page(error="Give the age in minutes, e.g. 10.")
    except AppError as refusal:
        return _jobs_page(error=refusal.message)
    if not is_htmx():
        return redirect(url_for("web.admin_jobs_page"), code=303)
    return _jobs_page(f"{len(requeued)} stale queued job(s) older than {minutes:g} min enqueued again.")
