"""Admin pages: health (refreshing itself), failed jobs with retry, users."""

from __future__ import annotations

from flask import g, redirect, request, url_for

from backend_app.errors import AppError, Conflict, is_htmx
from backend_app.models.job import FAILED
from backend_app.services import accounts, health, job_diagnostics
from backend_app.services import jobs as jobs_service
from backend_app.web import bp, fragment_or_page, page_admin_required

HEALTH_REFRESH_S = 5
STALE_MINUTES = 10


@bp.get("/admin/health")
@page_admin_required
def admin_health_page():
    healthy, report = health.full_report()
    response = fragment_or_page(
        "admin/health.html", "partials/admin/_health.html", healthy=healthy, report=report, refresh_s=HEALTH_REFRESH_S
    )
    response.status_code = 200  # the page itself worked; the report says what is degraded
    return response


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


@bp.post("/admin/jobs/<job_id>/retry")
@page_admin_required
def admin_retry_job_page(job_id: str):
    message, error = None, None
    try:
        job = jobs_service.retry(jobs_service.get_job(job_id))
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
    retried = jobs_service.retry_failed()
    if not is_htmx():
        return redirect(url_for("web.admin_jobs_page"), code=303)
    return _jobs_page(f"{len(retried)} failed job(s) queued again.")


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


def _users_page(message: str | None = None, error: str | None = None):
    return fragment_or_page(
        "admin/users.html", "partials/admin/_users.html", users=accounts.list_users(), message=message, error=error
    )


@bp.get("/admin/users")
@page_admin_required
def admin_users_page():
    return _users_page()


USER_ACTIONS = {
    "promote": {"role": "admin"},
    "demote": {"role": "user"},
    "disable": {"disabled": True},
    "enable": {"disabled": False},
}


@bp.post("/admin/users/<user_id>/<action>")
@page_admin_required
def admin_user_action_page(user_id: str, action: str):
    change = USER_ACTIONS.get(action)
    if change is None:
        raise AppError(
            f"Unknown action {action!r}; use one of {', '.join(USER_ACTIONS)}.", code="UNKNOWN_ACTION", status=404
        )
    if user_id == g.user.id and action in ("demote", "disable"):
        raise Conflict("You cannot demote or disable your own account; ask another admin.", code="CANNOT_CHANGE_SELF")
    user = accounts.set_role_or_disabled(user_id, **change)
    if not is_htmx():
        return redirect(url_for("web.admin_users_page"), code=303)
    return _users_page(f"{user.email}: {action}d.")
