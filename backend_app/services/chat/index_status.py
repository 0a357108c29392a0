"""How the search indexes are doing: health (in sync with their rows) and a user's own stats.

The shot index's numbers are the top-level fields (as before); the passage index (speech,
on-screen text, document pages) reports under ``passages`` and counts towards ``in_sync``.
"""

from __future__ import annotations

from sqlalchemy import func, select

from backend_app.extensions import db
from backend_app.models import Analysis, Passage, Session, ShotDocument
from backend_app.services.chat import passage_search, search
from backend_app.tenancy import Tenant

BACKEND_NAMES = {"sqlite": "sqlite-fts5", "postgresql": "postgresql-fts"}


def _shot_count(tenant: Tenant | None, model=ShotDocument) -> int:
    stmt = select(func.count()).select_from(model)
    if tenant is not None:
        stmt = stmt.where(model.user_id == tenant.user_id)
        if tenant.session_id is not None:
            stmt = stmt.where(model.session_id == tenant.session_id)
    return int(db.session.execute(stmt).scalar())


def _passages_health(tenant: Tenant | None) -> dict:
    ready = passage_search.index_ready()
    rows = _shot_count(tenant, Passage)
    result = {"ready": ready, "documents": rows, "indexed": passage_search.indexed_count(tenant) if ready else 0}
    if tenant is None and ready:
        result.update(passage_search.orphans())
        result["in_sync"] = rows == result["indexed"] and result["missing"] == 0 and result["stale"] == 0
    else:
        result["in_sync"] = ready and rows == result["indexed"]
    return result


def health(tenant: Tenant | None) -> dict:
    """Index health for one user's scope, or for the whole index (``tenant`` None: admins)."""
    ready = search.index_ready()
    documents = _shot_count(tenant)
    indexed = search.indexed_count(tenant) if ready else 0
    result = {
        "backend": BACKEND_NAMES[search.backend()],
        "scope": "global" if tenant is None else "user",
        "ready": ready,
        "documents": documents,
        "indexed": indexed,
    }
    if tenant is None and ready:
        result.update(search.orphans())
        result["in_sync"] = documents == indexed and result["missing"] == 0 and result["stale"] == 0
    else:
        result["in_sync"] = ready and documents == indexed
    result["passages"] = _passages_health(tenant)
    result["in_sync"] = result["in_sync"] and result["passages"]["in_sync"]
    return result


def _counts_by_session(model, tenant: Tenant) -> dict[str, int]:
    rows = db.session.execute(
        select(model.session_id, func.count()).where(model.user_id == tenant.user_id).group_by(model.session_id)
    ).all()
    return {session_id: int(count) for session_id, count in rows}


def stats(tenant: Tenant) -> dict:
    """The user's own analyses, shots, index entries and passages, in total and per session."""
    analyses = _counts_by_session(Analysis, tenant)
    shots = _counts_by_session(ShotDocument, tenant)
    said = _counts_by_session(Passage, tenant)
    sessions = db.session.execute(
        select(Session.id, Session.name).where(Session.user_id == tenant.user_id).order_by(Session.created_at)
    ).all()
    per_session = [
        {
            "session_id": sid,
            "name": name,
            "analyses": analyses.get(sid, 0),
            "shots": shots.get(sid, 0),
            "documents": search.indexed_count(tenant.in_session(sid)),
            "passages": said.get(sid, 0),
        }
        for sid, name in sessions
    ]
    return {
        "backend": BACKEND_NAMES[search.backend()],
        "analyses": sum(analyses.values()),
        "shots": sum(shots.values()),
        "documents": search.indexed_count(Tenant(tenant.user_id)),
        "passages": sum(said.values()),
        "sessions": per_session,
    }
