"""Admin management of users: erase an account and everything it owns, set a user's quotas
(the pages: web/admin_users.py)."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc
from backend_app.api.schemas import QUOTA_OVERRIDES, QUOTA_SUMMARY, shape
from backend_app.auth import admin_required, current_user
from backend_app.errors import Conflict, ValidationError
from backend_app.services import ownership, quotas, usage
from backend_app.validation import json_body

QUOTA_BODY = {
    "type": "object",
    "properties": {
        name: {"type": ["integer", "null"], "minimum": 0}
        for name in ("storage_bytes", "uploads_per_hour", "concurrent_jobs")
    },
    "additionalProperties": False,
}


@bp.delete("/admin/users/<user_id>")
@doc(
    "Delete a user and everything they own",
    tag="admin",
    auth="admin",
    responses={200: "What was removed", 404: "USER_NOT_FOUND", 409: "CANNOT_DELETE_SELF"},
    returns=shape({"deleted": {"type": "string"}, "removed": {"type": "object"}}),
)
@admin_required
def admin_delete_user(user_id: str):
    if user_id == current_user().id:
        raise Conflict("Use DELETE /api/v1/me to delete your own account.", code="CANNOT_DELETE_SELF")
    return jsonify({"deleted": user_id, "removed": ownership.erase_user(user_id)})


QUOTA_SHAPE = shape({"user_id": {"type": "string"}, "overrides": QUOTA_OVERRIDES, "quota": QUOTA_SUMMARY})


@bp.get("/admin/users/<user_id>/quota")
@doc(
    "A user's quotas: their own overrides (null: the default) and each limit with used and remaining",
    tag="admin",
    auth="admin",
    responses={200: "{user_id, overrides, quota}", 404: "USER_NOT_FOUND"},
    returns=QUOTA_SHAPE,
)
@admin_required
def admin_get_quota(user_id: str):
    return jsonify(quotas.own_and_summary(user_id))


@bp.put("/admin/users/<user_id>/quota")
@doc(
    "Raise or lower a user's quotas; a field set to null goes back to the default, a missing one is kept",
    tag="admin",
    auth="admin",
    body=QUOTA_BODY,
    responses={200: "{user_id, overrides, quota}", 404: "USER_NOT_FOUND", 422: "VALIDATION_ERROR"},
    returns=QUOTA_SHAPE,
)
@admin_required
def admin_set_quota(user_id: str):
    return jsonify(quotas.set_limits(user_id, json_body()))


BUDGET_SHAPE = shape(
    {
        "user_id": {"type": "string"},
        "monthly_budget_usd": {"type": ["number", "null"]},
        "budget_usd": {"type": "number"},
        "spent_usd": {"type": "number"},
        "remaining_usd": {"type": "number"},
    }
)
BUDGET_BODY = {
    "type": "object",
    "required": ["monthly_budget_usd"],
    "properties": {"monthly_budget_usd": {"type": ["number", "null"], "minimum": 0, "maximum": usage.MAX_BUDGET_USD}},
    "additionalProperties": False,
}


@bp.get("/admin/users/<user_id>/budget")
@doc(
    "A user's monthly AI budget: their own (null: MONTHLY_BUDGET_USD), the one in force and this month's spend",
    tag="admin",
    auth="admin",
    responses={200: "{user_id, monthly_budget_usd, budget_usd, spent_usd, remaining_usd}", 404: "USER_NOT_FOUND"},
    returns=BUDGET_SHAPE,
)
@admin_required
def admin_get_budget(user_id: str):
    return jsonify(usage.budget_of(user_id))


@bp.put("/admin/users/<user_id>/budget")
@doc(
    "Set a user's monthly AI budget in USD; null goes back to the default (MONTHLY_BUDGET_USD)",
    tag="admin",
    auth="admin",
    body=BUDGET_BODY,
    responses={
        200: "{user_id, monthly_budget_usd, budget_usd, spent_usd, remaining_usd}",
        404: "USER_NOT_FOUND",
        422: "VALIDATION_ERROR",
    },
    returns=BUDGET_SHAPE,
)
@admin_required
def admin_set_budget(user_id: str):
    body = json_body()
    if set(body) != {"monthly_budget_usd"}:
        raise ValidationError(
            "Send {monthly_budget_usd: a number of US dollars, or null for the default}.",
            details={"fields": {"monthly_budget_usd": "required, and the only field"}},
        )
    return jsonify(usage.set_budget(user_id, body["monthly_budget_usd"]))
