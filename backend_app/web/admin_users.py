"""Admin page: users, promoted or demoted, disabled or enabled, their quotas (the API: api/admin_users.py)."""

from __future__ import annotations

from flask import current_app, g, redirect, request, url_for

from backend_app.errors import AppError, Conflict, is_htmx
from backend_app.models.quota import QUOTA_FIELDS
from backend_app.services import accounts, quotas, usage
from backend_app.web import bp, fragment_or_page, page_admin_required


def _users_page(message: str | None = None, error: str | None = None):
    return fragment_or_page(
        "admin/users.html",
        "partials/admin/_users.html",
        users=accounts.list_users(),
        overrides=quotas.overrides_by_user(),
        defaults=quotas.defaults() | {"monthly_budget_usd": current_app.config["SETTINGS"].monthly_budget_usd},
        message=message,
        error=error,
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


def _form_limit(raw: str) -> int | str | None:
    """A quota field from the form: blank is the default, digits a number (else refused by name)."""
    raw = raw.strip()
    if not raw:
        return None
    return int(raw) if raw.isdigit() else raw


@bp.post("/admin/users/<user_id>/quota")
@page_admin_required
def admin_user_quota_page(user_id: str):
    changes = {name: _form_limit(request.form.get(name, "")) for name in QUOTA_FIELDS}
    result = quotas.set_limits(user_id, changes)
    budget = usage.set_budget(user_id, _form_budget(request.form.get("monthly_budget_usd", "")))
    if not is_htmx():
        return redirect(url_for("web.admin_users_page"), code=303)
    email = next((u.email for u in accounts.list_users() if u.id == user_id), user_id)
    limits = ", ".join(f"{name.replace('_', ' ')} {value['limit']}" for name, value in result["quota"].items())
    return _users_page(f"{email}: quotas set ({limits}, AI budget ${budget['budget_usd']:.2f}/month).")


def _form_budget(raw: str) -> float | str | None:
    """The budget field: blank is the default, a number in dollars (else refused by name)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return raw
