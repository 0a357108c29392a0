"""Admin page: users, promoted or demoted, disabled or enabled (the API: api/admin_users.py)."""

from __future__ import annotations

from flask import g, redirect, url_for

from backend_app.errors import AppError, Conflict, is_htmx
from backend_app.services import accounts
from backend_app.web import bp, fragment_or_page, page_admin_required


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
