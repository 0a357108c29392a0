"""The signed-in user's own data: export it, or erase the account."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc, obj
from backend_app.api.schemas import shape, text
from backend_app.auth import current_user, login_required
from backend_app.errors import Unauthorized
from backend_app.http import attachment
from backend_app.services import ownership
from backend_app.validation import fields, json_body


@bp.get("/me/export")
@doc(
    "Download everything you own as a zip (streamed)",
    tag="account",
    responses={200: "application/zip: manifest.json, tables/*.jsonl, files/…"},
    media="application/zip",
)
@login_required
def export_me():
    return attachment(ownership.export(current_user().id))


@bp.delete("/me")
@doc(
    "Delete your account and everything it owns (password confirmation)",
    tag="account",
    body=obj({"password": text()}),
    responses={200: "What was removed", 401: "WRONG_PASSWORD"},
    returns=shape({"deleted": {"type": "string"}, "removed": {"type": "object"}}),
)
@login_required
def delete_me():
    data = fields(json_body(), {"password": str})
    user = current_user()
    if not user.check_password(data["password"]):
        raise Unauthorized("The password is wrong; nothing was deleted.", code="WRONG_PASSWORD")
    return jsonify({"deleted": user.id, "removed": ownership.erase_user(user.id)})
