"""Admin flags page: toggle, canary slider, rollback with a reason, audit trail, guard banner."""

from __future__ import annotations

from flask import g, redirect, request, url_for

from backend_app.errors import AppError, ValidationError, is_htmx
from backend_app.extensions import db
from backend_app.services import accounts, flags
from backend_app.services.flags import guard
from backend_app.services.flags.pins import FlagPinned
from backend_app.web import bp, fragment_or_page, page_admin_required

AUDIT_ROWS = 10


def _flags_page(message: str | None = None, error: AppError | None = None, status: int = 200):
    """The page after any change: the admin's own variant is decided again from the flags as
    they are now (this request's was decided before the change)."""
    rows = [(flag, flags.audit_log(flag.key, limit=AUDIT_ROWS)) for flag in flags.list_flags()]
    my_bucket = {flag.key: flags.bucket(flag.key, g.user.id) for flag, _ in rows}
    emails = {user.id: user.email for user in accounts.list_users()}
    response = fragment_or_page(
        "admin/flags.html",
        "partials/admin/_flags.html",
        rows=rows,
        my_bucket=my_bucket,
        emails=emails,
        my_variant=flags.decide(g.user.id)[0],
        pinned={flag.key: flags.pinned_by_environment(flag.key) for flag, _ in rows},
        guard_status=guard.status(),
        message=message,
        error=error,
    )
    response.status_code = status
    return response


def _percent(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise ValidationError(
            "The canary share must be a whole number from 0 to 100.",
            code="FLAG_INVALID",
            details={"fields": {"rollout_percent": "must be 0-100"}},
        ) from None


@bp.get("/admin/flags")
@page_admin_required
def admin_flags_page():
    return _flags_page()


@bp.post("/admin/flags/<key>")
@page_admin_required
def admin_set_flag_page(key: str):
    try:
        flag, changed = flags.set_flag(
            key,
            enabled=request.form.get("enabled") in ("on", "true", "1"),
            rollout_percent=_percent(request.form.get("rollout_percent")),
            actor=g.user.id,
            reason=request.form.get("reason") or None,
        )
    except ValidationError as exc:
        return _flags_page(error=exc, status=422)
    except FlagPinned as exc:
        return _flags_page(error=exc, status=409)
    if not is_htmx():
        return redirect(url_for("web.admin_flags_page"), code=303)
    state = f"on for {flag.rollout_percent} %" if flag.enabled else "off"
    return _flags_page(f"{flag.key} is {state}." if changed else f"{flag.key} was already like that.")


@bp.post("/admin/flags/<key>/rollback")
@page_admin_required
def admin_rollback_flag_page(key: str):
    try:
        flag, changed = flags.rollback(key, actor=g.user.id, reason=request.form.get("reason", ""))
    except ValidationError as exc:
        return _flags_page(error=exc, status=422)
    db.session.expire_all()  # rollback() commits in a session of its own: re-read what it wrote
    if not is_htmx():
        return redirect(url_for("web.admin_flags_page"), code=303)
    return _flags_page(f"{flag.key} rolled back: everybody gets v1 now." if changed else f"{flag.key} was already off.")
