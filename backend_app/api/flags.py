"""Feature flags (admin only): list with the guard's state, change, roll back, audit trail.

Reads are admin-only too: flag states are visible to any signed-in user through
``GET /api/runtime-config`` (backend_app/api/ops.py), which carries no audit details.
"""

from __future__ import annotations

from flask import current_app, jsonify
from redis.exceptions import RedisError

from backend_app.api import bp, doc, obj
from backend_app.api.schemas import list_of, ref, shape, text
from backend_app.auth import admin_required, current_user
from backend_app.services import flags
from backend_app.services.flags import guard
from backend_app.services.flags.changes import KEY_RE, MAX_REASON
from backend_app.validation import int_arg, json_body

FLAG_RESPONSES = {200: "OK", 403: "ADMIN_REQUIRED", 404: "FLAG_NOT_FOUND"}
FLAG_KEY = {"key": {"type": "string", "pattern": KEY_RE.pattern}}
NOTE = {"type": ["string", "null"], "maxLength": MAX_REASON}
FLAG_CHANGE = obj(
    {"enabled": "boolean"},
    {
        "rollout_percent": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
        "description": NOTE,
        "reason": NOTE,
    },
)
CHANGED_FLAG = {"allOf": [ref("Flag"), shape({"changed": {"type": "boolean"}})]}


def _flag_dict(flag) -> dict:
    view = flags.snapshot().get(flag.key)
    return {
        **flag.to_dict(),
        "rolled_back": bool(view and view.rolled_back),
        "pinned_by_environment": flags.pinned_by_environment(flag.key),
    }


def _guard_dict() -> dict:
    settings = current_app.config["SETTINGS"]
    try:
        samples, errors = guard.window_counts()
    except RedisError:
        samples = errors = None
    tripped = guard.status()
    return {
        "tripped": tripped is not None,
        "tripped_at": tripped and tripped["tripped_at"],
        "reason": tripped and tripped["reason"],
        "error_rate": settings.guard_error_rate,
        "min_samples": settings.guard_min_samples,
        "window_s": settings.guard_window_s,
        "window": {"samples": samples, "errors": errors},
    }


@bp.get("/flags")
@doc(
    "Every flag, and the canary guard's state (tripped_at and reason when it rolled use_v2 back)",
    tag="flags",
    auth="admin",
    responses={200: "OK", 403: "ADMIN_REQUIRED"},
    returns=list_of("flags", ref("Flag"), guard={"type": "object"}),
)
@admin_required
def list_flags():
    return jsonify({"flags": [_flag_dict(f) for f in flags.list_flags()], "guard": _guard_dict()})


@bp.get("/flags/<key>")
@doc("One flag", tag="flags", auth="admin", responses=FLAG_RESPONSES, returns=ref("Flag"), path=FLAG_KEY)
@admin_required
def get_flag(key: str):
    return jsonify(_flag_dict(flags.get_flag(key)))


@bp.put("/flags/<key>")
@doc(
    "Create or change a flag (audited); unchanged values write no audit entry. Without rollout_percent a flag "
    "keeps its own; a new flag needs one (422 FLAG_INVALID). A field pinned by the environment "
    "(FEATURE_FLAG_USE_V2, CANARY_PERCENT) cannot be moved off its pin (409 FLAG_PINNED)",
    tag="flags",
    auth="admin",
    body=FLAG_CHANGE,
    responses={200: "OK", 403: "ADMIN_REQUIRED", 409: "FLAG_PINNED", 422: "FLAG_INVALID"},
    returns=CHANGED_FLAG,
    path=FLAG_KEY,
)
@admin_required
def put_flag(key: str):
    data = json_body()
    flag, changed = flags.set_flag(
        key,
        enabled=data.get("enabled"),
        rollout_percent=data.get("rollout_percent"),
        description=data.get("description"),
        reason=data.get("reason"),
        actor=current_user().id,
    )
    return jsonify({**_flag_dict(flag), "changed": changed})


@bp.post("/flags/<key>/rollback")
@doc(
    "Turn the flag off in one step, with a reason (audited); reaches every process within a second",
    tag="flags",
    auth="admin",
    body=obj({"reason": text(MAX_REASON)}),
    responses={200: "OK", 403: "ADMIN_REQUIRED", 404: "FLAG_NOT_FOUND", 422: "FLAG_INVALID"},
    returns=CHANGED_FLAG,
    path=FLAG_KEY,
)
@admin_required
def rollback_flag(key: str):
    data = json_body()
    flag, changed = flags.rollback(key, actor=current_user().id, reason=data.get("reason"))
    return jsonify({**_flag_dict(flag), "changed": changed})


@bp.get("/flags/<key>/audit")
@doc(
    "The flag's audit trail, newest first",
    tag="flags",
    auth="admin",
    params={"limit": {"description": "max entries (default 100)", "type": "integer", "minimum": 1, "maximum": 1000}},
    responses=FLAG_RESPONSES,
    returns=shape({"flag": {"type": "string"}, "audit": {"type": "array", "items": {"type": "object"}}}),
    path=FLAG_KEY,
)
@admin_required
def flag_audit(key: str):
    rows = flags.audit_log(key, limit=int_arg("limit", 100, low=1, high=1000))
    return jsonify({"flag": key, "audit": [a.to_dict() for a in rows]})
