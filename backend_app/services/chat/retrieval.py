"""Retrieval without an answer: the shots the chat would cite for a query, best first.

The original system's vector search (``POST /api/v1/vector/search``) maps onto this: the same
tenant-scoped index query the chat grounds its answers on (``search.search``: filtered by user,
and by session when one is given, inside the query), with each hit as a citation and its score.
Framewise ranks with full-text search (BM25 / ts_rank), not embeddings; ``score`` is that rank.
"""

from __future__ import annotations

from backend_app.errors import ValidationError
from backend_app.services.chat import answer, search
from backend_app.services.chat import query as search_query
from backend_app.services.chat.conversation import tenant_for

MAX_QUERY_CHARS = 2000


def passages(user_id: str, query: str, *, session_id: str | None = None, top_k: int = 5) -> list[dict]:
    """The user's best-matching shots for ``query`` (at most ``top_k``, 1-50), as scored citations."""
    if not query.strip() or len(query) > MAX_QUERY_CHARS:
        raise ValidationError(details={"fields": {"query": f"must be 1 to {MAX_QUERY_CHARS} characters"}})
    if not 1 <= top_k <= search.MAX_LIMIT:
        raise ValidationError(details={"fields": {"top_k": f"must be 1 to {search.MAX_LIMIT}"}})
    tenant = tenant_for(user_id, session_id)
    terms = search_query.terms(query)
    return [
        {**answer.citation(hit, terms), "score": round(hit.score, 6)}
        for hit in search.search(tenant, query, limit=top_k)
    ]
