"""Full-text search over a tenant's passages (speech, on-screen text, document pages).

The same design as the shot index (search.py): SQLite's FTS5 table ``passage_fts`` (migration
0011) with the owner tokens ANDed into the MATCH expression *and* ``passages.user_id`` (and
``session_id``) filtered in the same SQL, ranked by BM25 over the tenant's own candidates;
PostgreSQL a GIN expression index and ``ts_rank`` under the same filters. Nothing here runs
without a :class:`~backend_app.tenancy.Tenant`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from backend_app.extensions import db
from backend_app.models.passage import KINDS
from backend_app.services.chat import query as search_query
from backend_app.services.chat.search import (
    MAX_CANDIDATES,
    MAX_LIMIT,
    Index,
    backend,
    fts5_expression,
    index_count,
    index_exists,
    index_orphans,
    rank_sqlite,
    rebuild_index,
    tsquery_text,
)
from backend_app.tenancy import Tenant


@dataclass(frozen=True)
class PassageHit:
    """One matching passage, best first (``score``: higher is better)."""

    passage_id: str
    kind: str
    analysis_id: str | None
    document_id: str | None
    session_id: str
    start_s: float | None
    end_s: float | None
    page: int | None
    filename: str
    title: str
    text: str
    score: float


_COLUMNS = (
    "p.id, p.kind, p.analysis_id, p.document_id, p.session_id, p.start_s, p.end_s, p.page, p.filename, p.title, p.text"
)
_SQLITE_CANDIDATES = (
    "SELECT p.rowid AS rid, p.title, p.text FROM passage_fts "
    "JOIN passages p ON p.rowid = passage_fts.rowid "
    "WHERE passage_fts MATCH :match AND p.user_id = :user_id {filters} "
    "ORDER BY passage_fts.rowid DESC LIMIT :candidates"
)
_SQLITE_ROWS = (
    f"SELECT p.rowid AS rid, {_COLUMNS} FROM passages p WHERE p.user_id = :user_id AND p.rowid IN ({{rowids}})"
)
_PG_VECTOR = "to_tsvector('english'::regconfig, p.title || ' ' || p.text)"
_PG_SEARCH = (
    f"SELECT {_COLUMNS}, ts_rank({_PG_VECTOR}, q.query) AS score "
    "FROM passages p CROSS JOIN (SELECT to_tsquery('english'::regconfig, :tsquery) AS query) q "
    f"WHERE p.user_id = :user_id {{filters}} AND {_PG_VECTOR} @@ q.query "
    "ORDER BY score DESC, p.created_at DESC, p.position LIMIT :limit"
)
_PASSAGES = Index("passages", "passage_fts", "ix_passages_search")
_LIST = f"SELECT {_COLUMNS} FROM passages p WHERE p.user_id = :user_id {{filters}} ORDER BY {{order}} LIMIT :limit"


def _filters(
    tenant: Tenant,
    params: dict,
    kinds: tuple[str, ...] | None,
    analysis_id: str | None,
    document_id: str | None,
    page: int | None = None,
) -> str:
    """The SQL that keeps ``p`` in the tenant's scope (and the asked sources); fills ``params``."""
    params["user_id"] = tenant.user_id
    clauses = []
    if tenant.session_id is not None:
        params["session_id"] = tenant.session_id
        clauses.append("AND p.session_id = :session_id")
    if kinds:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown passage kinds: {sorted(unknown)}")
        clauses.append("AND p.kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")")
    if analysis_id is not None:
        params["analysis_id"] = analysis_id
        clauses.append("AND p.analysis_id = :analysis_id")
    if document_id is not None:
        params["document_id"] = document_id
        clauses.append("AND p.document_id = :document_id")
    if page is not None:
        params["page"] = page
        clauses.append("AND p.page = :page")
    return " ".join(clauses)


def search(
    tenant: Tenant,
    question: str,
    limit: int = 5,
    *,
    kinds: tuple[str, ...] | None = None,
    analysis_id: str | None = None,
    document_id: str | None = None,
) -> list[PassageHit]:
    """The tenant's best-matching passages for ``question`` (any text; never raises on syntax)."""
    if not isinstance(tenant, Tenant):
        raise TypeError("passage search needs a Tenant")
    terms = search_query.terms(question)
    if not terms:
        return []
    params = {"limit": max(1, min(limit, MAX_LIMIT))}
    filters = _filters(tenant, params, kinds, analysis_id, document_id)
    if backend() == "postgresql":
        params["tsquery"] = tsquery_text(terms)
        rows = db.session.execute(text(_PG_SEARCH.format(filters=filters)), params).all()
        return [_hit(r, float(r.score)) for r in rows]
    params.update(match=fts5_expression(tenant, terms), candidates=MAX_CANDIDATES)
    candidates = text(_SQLITE_CANDIDATES.format(filters=filters))
    return [_hit(r, score) for r, score in rank_sqlite(tenant, terms, candidates, params, _SQLITE_ROWS, "passages")]


def listing(
    tenant: Tenant,
    *,
    kinds: tuple[str, ...] | None = None,
    analysis_id: str | None = None,
    document_id: str | None = None,
    page: int | None = None,
    limit: int = 500,
) -> list[PassageHit]:
    """The tenant's passages in source order (time, or page number), grouped by source and kind."""
    if not isinstance(tenant, Tenant):
        raise TypeError("passage listing needs a Tenant")
    params = {"limit": max(1, limit)}
    filters = _filters(tenant, params, kinds, analysis_id, document_id, page)
    order = "p.analysis_id, p.document_id, p.kind, p.position"
    rows = db.session.execute(text(_LIST.format(filters=filters, order=order)), params).all()
    return [_hit(r, 1.0) for r in rows]


@dataclass(frozen=True)
class Source:
    """A document (or video) with passages in scope: its id, filename and passage count."""

    id: str
    filename: str
    count: int


def documents(tenant: Tenant) -> list[Source]:
    """The tenant's documents that have indexed pages, by filename."""
    if not isinstance(tenant, Tenant):
        raise TypeError("documents() needs a Tenant")
    params: dict = {}
    filters = _filters(tenant, params, ("page",), None, None)
    rows = db.session.execute(
        text(
            "SELECT p.document_id, min(p.filename) AS filename, count(*) AS pages FROM passages p "
            f"WHERE p.user_id = :user_id {filters} GROUP BY p.document_id ORDER BY min(p.filename), p.document_id"
        ),
        params,
    ).all()
    return [Source(r.document_id, r.filename, int(r.pages)) for r in rows]


def _hit(r, score: float) -> PassageHit:
    return PassageHit(
        r.id,
        r.kind,
        r.analysis_id,
        r.document_id,
        r.session_id,
        r.start_s,
        r.end_s,
        r.page,
        r.filename or "",
        r.title,
        r.text,
        score,
    )


def indexed_count(tenant: Tenant | None) -> int:
    """Passages in the index for the tenant's scope (None: the whole index)."""
    return index_count(_PASSAGES, tenant)


def index_ready() -> bool:
    """Does the passage index object exist (and, on PostgreSQL, is it valid)?"""
    return index_exists(_PASSAGES)


def orphans() -> dict[str, int]:
    """Passages missing from the FTS5 index, and index entries with no passage (SQLite)."""
    return index_orphans(_PASSAGES)


def rebuild() -> int:
    """Re-create every passage index entry from the passages; returns the entries written."""
    return rebuild_index(_PASSAGES)
