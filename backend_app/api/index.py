"""The chat search index: health and the signed-in user's own stats."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc
from backend_app.auth import admin_required, current_tenant, current_user, login_required
from backend_app.services.chat import index_status, search


@bp.get("/index/health")
@doc("Search index health: backend, documents, index entries, in sync (your scope; admins: whole index)", tag="chat")
@login_required
def index_health():
    tenant = None if current_user().is_admin else current_tenant()
    return jsonify(index_status.health(tenant))


@bp.get("/index/stats")
@doc("Your analyses, shots and index documents, in total and per session", tag="chat")
@login_required
def index_stats():
    return jsonify(index_status.stats(current_tenant()))


@bp.post("/index/rebuild")
@doc(
    "Re-create every index entry from the shot documents",
    tag="admin",
    auth="admin",
    responses={200: "{indexed, health}"},
)
@admin_required
def index_rebuild():
    return jsonify({"indexed": search.rebuild(), "health": index_status.health(None)})
