"""Your API keys: make one (shown once), list them, revoke one; and their audit trail."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc, obj
from backend_app.api.schemas import ref, shape, text
from backend_app.auth import current_user, login_required, signin_required
from backend_app.models.api_key import SCOPES
from backend_app.services import api_keys
from backend_app.validation import fields, int_arg, json_body

NEW_KEY = obj(
    {"name": text(api_keys.MAX_NAME), "scope": {"type": "string", "enum": list(SCOPES)}},
    {"expires_in_days": {"type": "integer", "minimum": 1, "maximum": api_keys.MAX_DAYS}},
)


@bp.post("/me/api-keys")
@doc(
    "Make an API key (read: GET only; write: everything you do; admin: admin endpoints too, admins only). "
    "The key is in this answer only; it is stored hashed. Needs a sign-in, not a key",
    tag="account",
    body=NEW_KEY,
    returns=ref("NewApiKey"),
    responses={
        201: "Created: {id, name, scope, key, expires_at}",
        403: "ADMIN_REQUIRED (admin scope) or API_KEY_NOT_ALLOWED (sent with a key)",
        409: "TOO_MANY_API_KEYS",
        422: "VALIDATION_ERROR",
    },
)
@signin_required
def create_api_key():
    data = fields(json_body(), {"name": str, "scope": str}, {"expires_in_days": int})
    key, raw = api_keys.create(
        current_user(), name=data["name"], scope=data["scope"], expires_in_days=data.get("expires_in_days")
    )
    body = {"id": key.id, "name": key.name, "scope": key.scope, "key": raw, "expires_at": key.to_dict()["expires_at"]}
    return jsonify(body), 201


@bp.get("/me/api-keys")
@doc(
    "Your API keys (never the keys themselves): name, scope, when made, last used and expiring",
    tag="account",
    returns=shape({"keys": {"type": "array", "items": ref("ApiKey")}}),
)
@login_required
def list_api_keys():
    return jsonify({"keys": [key.to_dict() for key in api_keys.list_for(current_user().id)]})


@bp.delete("/me/api-keys/<hexid:key_id>")
@doc(
    "Revoke one of your API keys: it answers 401 API_KEY_REVOKED from now on",
    tag="account",
    responses={204: "Revoked", 404: "API_KEY_NOT_FOUND"},
)
@login_required
def revoke_api_key(key_id: str):
    api_keys.revoke(current_user().id, key_id)
    return "", 204


@bp.get("/me/api-keys/audit")
@doc(
    "The audit trail of your API keys, newest first: made, used, refused (with the code), revoked",
    tag="account",
    params={"limit": {"description": "events (default 100)", "type": "integer", "minimum": 1, "maximum": 1000}},
    returns=shape({"events": {"type": "array", "items": ref("ApiKeyEvent")}}),
)
@login_required
def api_key_audit():
    events = api_keys.events(current_user().id, limit=int_arg("limit", 100, low=1, high=1000))
    return jsonify({"events": [event.to_dict() for event in events]})
