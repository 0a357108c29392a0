"""passages: searchable speech segments, on-screen texts and document pages, beside shot documents

SQLite: a contentless FTS5 table ``passage_fts`` (rowid = passages.rowid) kept in sync by
triggers on passages, with the same owner tokens in its ``scope`` column as ``shot_fts``
(``u<user_id>0 s<session_id>0``), which every search ANDs into its MATCH expression.
PostgreSQL: a GIN expression index over to_tsvector('english', title || ' ' || text); the
searches filter by user_id/session_id in the same WHERE.

Revision ID: 0011_passages
Revises: 0010_usage_outcome
Create Date: 2026-12-07

"""
from alembic import op
import sqlalchemy as sa

import backend_app.models.base  # noqa: F401  (custom column types)

revision = '0011_passages'
down_revision = '0010_usage_outcome'
branch_labels = None
depends_on = None

SCOPE_NEW = "'u' || new.user_id || '0 s' || new.session_id || '0'"
SCOPE_OLD = "'u' || old.user_id || '0 s' || old.session_id || '0'"
FTS_INSERT = f"INSERT INTO passage_fts(rowid, scope, title, text) VALUES (new.rowid, {SCOPE_NEW}, new.title, new.text);"
FTS_DELETE = (f"INSERT INTO passage_fts(passage_fts, rowid, scope, title, text) "
              f"VALUES ('delete', old.rowid, {SCOPE_OLD}, old.title, old.text);")
SQLITE_UP = [
    "CREATE VIRTUAL TABLE passage_fts USING fts5(scope, title, text, content='', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER passages_fts_ai AFTER INSERT ON passages BEGIN {FTS_INSERT} END",
    f"CREATE TRIGGER passages_fts_ad AFTER DELETE ON passages BEGIN {FTS_DELETE} END",
    f"CREATE TRIGGER passages_fts_au AFTER UPDATE ON passages BEGIN {FTS_DELETE} {FTS_INSERT} END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS passages_fts_au",
    "DROP TRIGGER IF EXISTS passages_fts_ad",
    "DROP TRIGGER IF EXISTS passages_fts_ai",
    "DROP TABLE IF EXISTS passage_fts",
]
PG_UP = ["CREATE INDEX ix_passages_search ON passages "
         "USING gin (to_tsvector('english'::regconfig, title || ' ' || text))"]
PG_DOWN = ["DROP INDEX IF EXISTS ix_passages_search"]


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    op.create_table('passages',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('analysis_id', sa.String(length=32), nullable=True),
    sa.Column('document_id', sa.String(length=32), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=True),
    sa.Column('end_s', sa.Float(), nullable=True),
    sa.Column('page', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('created_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('speech', 'text', 'page')", name=op.f('ck_passages_kind')),
    sa.CheckConstraint('(analysis_id IS NULL) <> (document_id IS NULL)', name=op.f('ck_passages_one_source')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_passages_session_id_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_passages_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passages'))
    )
    with op.batch_alter_table('passages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passages_analysis_id'), ['analysis_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_passages_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_passages_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_passages_user_id'), ['user_id'], unique=False)

    _run(PG_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP)


def downgrade():
    _run(PG_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN)
    with op.batch_alter_table('passages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passages_user_id'))
        batch_op.drop_index(batch_op.f('ix_passages_session_id'))
        batch_op.drop_index(batch_op.f('ix_passages_document_id'))
        batch_op.drop_index(batch_op.f('ix_passages_analysis_id'))
    op.drop_table('passages')
