"""Admin management of users: erase an account and everything it owns (the pages: web/admin_users.py)."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc
from backend_app.api.schemas import shape
from backend_app.auth import admin_required, current_user
from backend_app.errors import Conflict
from backend_app.services import ownership


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
