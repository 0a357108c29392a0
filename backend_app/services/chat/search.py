"""Full-text search over a user's shot documents, behind one interface.

SQLite uses the FTS5 table ``shot_fts`` (migration 0003), PostgreSQL a GIN expression index;
``backend()`` picks by the engine. Isolation is by construction, twice over: the MATCH
expression itself ANDs the owner tokens (``u<user_id>0``, ``s<session_id>0``), and the same
SQL filters ``shot_documents.user_id`` (and ``session_id``) before ranking — so a stale index
entry can never surface another user's row. There is no function that searches without a
:class:`~backend_app.tenancy.Tenant`.

Ranking: PostgreSQL ``ts_rank`` (per row); SQLite BM25 over the tenant's own candidates
(search_rank), because FTS5's built-in bm25() counts every term across all users' rows.
Words: English is stemmed on both backends (porter / 'english'); German and other words are
matched by their exact form (SQLite also folds diacritics: "über" finds "uber").
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from sqlalchemy import text

from backend_app.extensions import db
from backend_app.services.chat import query as search_query
from backend_app.services.chat import rank as search_rank
from backend_app.tenancy import Tenant

DEFAULT_LIMIT = 5
MAX_LIMIT = 50
# Most recent matching documents ranked per query (SQLite); bounds the cost for very large users.
MAX_CANDIDATES = 1000


@dataclass(frozen=True)
class Hit:
    """One matching shot, best first (``score``: higher is better)."""

    document_id: str
    analysis_id: str
    session_id: str
    shot: int
    start_s: float
    end_s: float
    title: str
    text: str
    keyframe_key: str | None
    filename: str | None
    score: float


def backend() -> str:
    """'postgresql' or 'sqlite': which index implementation this database uses."""
    return "postgresql" if db.engine.dialect.name == "postgresql" else "sqlite"


def scope_tokens(tenant: Tenant) -> list[str]:
    """The index tokens of the tenant's scope (SQLite); see migration 0003."""
    tokens = [f"u{tenant.user_id}0"]
    if tenant.session_id is not None:
        tokens.append(f"s{tenant.session_id}0")
    return tokens


def fts5_expression(tenant: Tenant, terms: list[str]) -> str:
    """The FTS5 MATCH string: owner tokens AND any of the terms, all of them quoted."""
    scope = " AND ".join(f'scope : "{token}"' for token in scope_tokens(tenant))
    words = " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return f"{scope} AND {{title text}} : ({words})"


def tsquery_text(terms: list[str]) -> str:
    """The to_tsquery string: the terms as quoted lexemes, ORed."""
    return " | ".join("'" + term.replace("'", "''").replace("\\", "") + "'" for term in terms)


_COLUMNS = (
    "d.id, d.analysis_id, d.session_id, d.shot_index, d.start_s, d.end_s, d.title, d.text, d.keyframe_key, a.filename"
)
# Candidates only: ranking happens in search_rank over the tenant's own statistics.
_SQLITE_CANDIDATES = (
    "SELECT d.rowid AS rid, d.title, d.text FROM shot_fts "
    "JOIN shot_documents d ON d.rowid = shot_fts.rowid "
    "WHERE shot_fts MATCH :match AND d.user_id = :user_id {session} "
    "ORDER BY shot_fts.rowid DESC LIMIT :candidates"
)
_SQLITE_ROWS = (
    f"SELECT d.rowid AS rid, {_COLUMNS} FROM shot_documents d "
    "LEFT JOIN analyses a ON a.id = d.analysis_id AND a.user_id = d.user_id "
    "WHERE d.user_id = :user_id AND d.rowid IN ({rowids})"
)
_NUMBERED = (
    f"SELECT {_COLUMNS} FROM shot_documents d "
    "LEFT JOIN analyses a ON a.id = d.analysis_id AND a.user_id = d.user_id "
    "WHERE d.user_id = :user_id {session} AND d.shot_index = :shot "
    "ORDER BY a.created_at DESC, d.analysis_id LIMIT :limit"
)
_NEIGHBOUR = (
    f"SELECT {_COLUMNS} FROM shot_documents d "
    "LEFT JOIN analyses a ON a.id = d.analysis_id AND a.user_id = d.user_id "
    "WHERE d.user_id = :user_id {session} AND d.analysis_id = :analysis_id AND d.shot_index = :shot"
)
_PG_VECTOR = "to_tsvector('english'::regconfig, d.title || ' ' || d.text)"
_PG_SEARCH = (
    f"SELECT {_COLUMNS}, ts_rank({_PG_VECTOR}, q.query) AS score "
    "FROM shot_documents d CROSS JOIN (SELECT to_tsquery('english'::regconfig, :tsquery) AS query) q "
    "LEFT JOIN analyses a ON a.id = d.analysis_id AND a.user_id = d.user_id "
    f"WHERE d.user_id = :user_id {{session}} AND {_PG_VECTOR} @@ q.query "
    "ORDER BY score DESC, d.analysis_id, d.shot_index LIMIT :limit"
)


def search(tenant: Tenant, question: str, limit: int = DEFAULT_LIMIT) -> list[Hit]:
    """The tenant's best-matching shots for ``question`` (any text; never raises on syntax)."""
    if not isinstance(tenant, Tenant):
        raise TypeError("search() needs a Tenant")
    terms = search_query.terms(question)
    if not terms:
        return []
    session, params = _owned_by(tenant, limit=max(1, min(limit, MAX_LIMIT)))
    number = search_query.shot_number(question)
    if number is not None:  # "what is in shot 2?": that shot of each video, newest first
        params["shot"] = number
        rows = db.session.execute(text(_NUMBERED.format(session=session)), params).all()
        return [_hit(r, 1.0) for r in rows]
    if backend() == "postgresql":
        params["tsquery"] = tsquery_text(terms)
        rows = db.session.execute(text(_PG_SEARCH.format(session=session)), params).all()
        return [_hit(r, float(r.score)) for r in rows]
    params.update(match=fts5_expression(tenant, terms), candidates=MAX_CANDIDATES)
    candidates = text(_SQLITE_CANDIDATES.format(session=session))
    return [
        _hit(r, score) for r, score in rank_sqlite(tenant, terms, candidates, params, _SQLITE_ROWS, "shot_documents")
    ]


def shot(tenant: Tenant, analysis_id: str, index: int) -> Hit | None:
    """Shot ``index`` of one of the tenant's analyses (None when there is no such shot in scope)."""
    if not isinstance(tenant, Tenant):
        raise TypeError("shot() needs a Tenant")
    session, params = _owned_by(tenant, analysis_id=analysis_id, shot=index)
    row = db.session.execute(text(_NEIGHBOUR.format(session=session)), params).first()
    return _hit(row, 1.0) if row is not None else None


def _owned_by(tenant: Tenant, **params) -> tuple[str, dict]:
    """The ``{session}`` clause and parameters that keep a query on ``d`` in the tenant's scope."""
    params["user_id"] = tenant.user_id
    if tenant.session_id is None:
        return "", params
    params["session_id"] = tenant.session_id
    return "AND d.session_id = :session_id", params


def _hit(r, score: float) -> Hit:
    return Hit(
        r.id,
        r.analysis_id,
        r.session_id,
        r.shot_index,
        r.start_s,
        r.end_s,
        r.title,
        r.text,
        r.keyframe_key,
        r.filename,
        score,
    )


def indexed_count(tenant: Tenant | None) -> int:
    """Entries in the index for the tenant's scope (None: the whole index)."""
    return index_count(_SHOTS, tenant)


def index_ready() -> bool:
    """Does the index object exist (and, on PostgreSQL, is it valid)?"""
    return index_exists(_SHOTS)


def orphans() -> dict[str, int]:
    """Documents missing from the FTS5 index, and index entries with no document (SQLite)."""
    return index_orphans(_SHOTS)


def rebuild() -> int:
    """Re-create every index entry from shot_documents (SQLite); returns the entries written."""
    return rebuild_index(_SHOTS)


# The machinery both indexes share (shots here, passages in passage_search), parametrised by
# table. Every query that reads rows filters ``user_id`` (and ``session_id``) itself.


@dataclass(frozen=True)
class Index:
    """One full-text index: its table, SQLite FTS5 table and PostgreSQL expression index."""

    table: str
    fts: str
    pg_index: str


_SHOTS = Index("shot_documents", "shot_fts", "ix_shot_documents_search")


def rank_sqlite(tenant: Tenant, terms: list[str], candidates, params: dict, rows_sql: str, table: str) -> list:
    """SQLite: BM25 over the tenant's candidates, then their full rows; [(row, score)], best first.

    ``candidates`` (run with ``params``) returns ``rid, title, text`` of the tenant's matching
    rows; ``rows_sql`` (with ``{rowids}``) returns the full rows, filtered by ``:user_id`` again.
    """
    if not isinstance(tenant, Tenant):
        raise TypeError("ranking needs a Tenant")
    rows = db.session.execute(candidates, params).all()
    scores = search_rank.bm25_scores([(r.title, r.text) for r in rows], terms, scope_size(tenant, table))
    best = heapq.nlargest(params["limit"], range(len(rows)), key=scores.__getitem__)
    if not best:
        return []
    rowids = [int(rows[i].rid) for i in best]
    details = {
        r.rid: r
        for r in db.session.execute(
            text(rows_sql.format(rowids=", ".join(map(str, rowids)))), {"user_id": tenant.user_id}
        )
    }
    return [(details[rid], scores[i]) for rid, i in zip(rowids, best) if rid in details]


def scope_size(tenant: Tenant, table: str) -> int:
    """Rows of ``table`` in the tenant's scope (the BM25 collection size)."""
    sql = f"SELECT count(*) FROM {table} WHERE user_id = :user_id"
    params = {"user_id": tenant.user_id}
    if tenant.session_id is not None:
        sql, params["session_id"] = sql + " AND session_id = :session_id", tenant.session_id
    return int(db.session.execute(text(sql), params).scalar())


def index_count(index: Index, tenant: Tenant | None) -> int:
    """Entries in ``index`` for the tenant's scope (None: the whole index)."""
    if backend() == "postgresql":
        # The expression index cannot drift from its table: every row is an entry.
        if tenant is None:
            return int(db.session.execute(text(f"SELECT count(*) FROM {index.table}")).scalar())
        return scope_size(tenant, index.table)
    if tenant is None:
        return int(db.session.execute(text(f"SELECT count(*) FROM {index.fts}")).scalar())
    match = " AND ".join(f'scope : "{token}"' for token in scope_tokens(tenant))
    sql = f"SELECT count(*) FROM {index.fts} WHERE {index.fts} MATCH :m"
    return int(db.session.execute(text(sql), {"m": match}).scalar())


def index_exists(index: Index) -> bool:
    """Does the index object exist (and, on PostgreSQL, is it valid)?"""
    if backend() == "postgresql":
        sql = "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :name"
        return bool(db.session.execute(text(sql), {"name": index.pg_index}).scalar())
    sql = "SELECT count(*) FROM sqlite_master WHERE name = :name"
    return db.session.execute(text(sql), {"name": index.fts}).scalar() == 1


def index_orphans(index: Index) -> dict[str, int]:
    """Rows missing from the FTS5 index, and index entries with no row (SQLite; PostgreSQL's
    expression index has neither)."""
    if backend() == "postgresql":
        return {"missing": 0, "stale": 0}
    missing = db.session.execute(
        text(f"SELECT count(*) FROM {index.table} WHERE rowid NOT IN (SELECT rowid FROM {index.fts})")
    ).scalar()
    stale = db.session.execute(
        text(f"SELECT count(*) FROM {index.fts} WHERE rowid NOT IN (SELECT rowid FROM {index.table})")
    ).scalar()
    return {"missing": int(missing), "stale": int(stale)}


def rebuild_index(index: Index) -> int:
    """Re-create every entry of ``index`` from its table; returns the entries written."""
    if backend() == "postgresql":
        db.session.execute(text(f"REINDEX INDEX {index.pg_index}"))
    else:
        db.session.execute(text(f"INSERT INTO {index.fts}({index.fts}) VALUES ('delete-all')"))
        db.session.execute(
            text(
                f"INSERT INTO {index.fts}(rowid, scope, title, text) SELECT rowid, "
                f"'u' || user_id || '0 s' || session_id || '0', title, text FROM {index.table}"
            )
        )
    db.session.commit()
    return index_count(index, None)
