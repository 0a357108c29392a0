"""The chat search index: health and the signed-in user's own stats."""

from __future__ import annotations

from flask import jsonify

from backend_app.api import bp, doc
from backend_app.api.schemas import shape
from backend_app.auth import admin_required, current_tenant, current_user, login_required
from backend_app.services.chat import index_status, passage_search, search

INDEX_HEALTH = shape({"backend": {"type": "string"}, "documents": {"type": "integer"}, "in_sync": {"type": "boolean"}})


@bp.get("/index/health")
@doc(
    "Search index health: backend, documents, index entries, in sync (your scope; admins: whole index)",
    tag="chat",
    returns=INDEX_HEALTH,
)
@login_required
def index_health():
    tenant = None if current_user().is_admin else current_tenant()
    return jsonify(index_status.health(tenant))


@bp.get("/index/stats")
@doc(
    "Your analyses, shots and index documents, in total and per session",
    tag="chat",
    returns=shape(
        {"analyses": {"type": "integer"}, "documents": {"type": "integer"}, "shots": {"type": "integer"}},
        {"sessions": {"type": "array"}},
    ),
)
@login_required
def index_stats():
    return jsonify(index_status.stats(current_tenant()))


@bp.post("/index/rebuild")
@doc(
    "Re-create every index entry from the shot documents and the passages (indexed: the shot entries)",
    tag="admin",
    auth="admin",
    responses={200: "{indexed, health}"},
    returns=shape({"indexed": {"type": "integer"}, "health": INDEX_HEALTH}),
)
@admin_required
def index_rebuild():
    indexed = search.rebuild()
    passage_search.rebuild()
    return jsonify({"indexed": indexed, "health": index_status.health(None)})
