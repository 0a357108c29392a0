"""Sessions: a user's named collections."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc, obj
from backend_app.api.schemas import list_of, ref, text
from backend_app.auth import current_tenant, login_required
from backend_app.models.session import session_dict
from backend_app.services import sessions
from backend_app.services.sessions import MAX_NAME
from backend_app.validation import fields, json_body


@bp.post("/sessions")
@doc(
    "Create a session",
    tag="sessions",
    body=obj({"name": text(MAX_NAME)}),
    responses={201: "Created", 422: "VALIDATION_ERROR"},
    returns=ref("Session"),
)
@login_required
def create_session():
    data = fields(json_body(), {"name": str})
    return jsonify(sessions.create(current_tenant(), data["name"]).to_dict()), 201


@bp.get("/sessions")
@doc("List your sessions", tag="sessions", returns=list_of("sessions", ref("Session")))
@login_required
def list_sessions():
    return jsonify({"sessions": [session_dict(s) for s in sessions.list_for(current_tenant())]})


@bp.get("/sessions/<session_id>")
@doc("One of your sessions", tag="sessions", responses={200: "OK", 404: "SESSION_NOT_FOUND"}, returns=ref("Session"))
@login_required
def get_session(session_id: str):
    return jsonify(sessions.get(current_tenant(), session_id).to_dict())


@bp.delete("/sessions/<session_id>")
@doc("Delete a session and everything in it", tag="sessions", responses={204: "Deleted", 404: "SESSION_NOT_FOUND"})
@login_required
def delete_session(session_id: str):
    sessions.delete(current_tenant(), session_id)
    return "", 204
