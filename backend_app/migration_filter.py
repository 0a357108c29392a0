"""Schema objects no model describes, hidden from Alembic's model comparison.

The chat search index lives beside the models: on SQLite an FTS5 virtual table (and its
shadow tables ``shot_fts_*``) kept in sync by triggers, on PostgreSQL a GIN expression index.
Both are created by migration 0003 only; the same pair over ``passages`` (``passage_fts``,
``ix_passages_search``) by migration 0011. ``include_object`` is used by migrations/env.py
(autogenerate) and by tests/test_migrations.py (the drift check), so both see the same schema.
"""

from __future__ import annotations

UNMODELLED_TABLE_PREFIXES = ("shot_fts", "passage_fts")
UNMODELLED_INDEXES = {"ix_shot_documents_search", "ix_passages_search"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """False for database objects that exist on purpose without a model."""
    if not reflected or compare_to is not None:
        return True
    if type_ == "table" and name and name.startswith(UNMODELLED_TABLE_PREFIXES):
        return False
    if type_ == "index" and name in UNMODELLED_INDEXES:
        return False
    return True
