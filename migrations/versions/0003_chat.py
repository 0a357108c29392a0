"""chat: chat messages and the full-text index over shot documents

SQLite: a contentless FTS5 table ``shot_fts`` (rowid = shot_documents.rowid) kept in sync by
triggers on shot_documents, so writers only ever write ShotDocument rows. Its ``scope``
column holds the owner tokens ``u<user_id>0 s<session_id>0`` (the trailing digit keeps the
porter stemmer off them), which every search ANDs into its MATCH expression.
PostgreSQL: a GIN expression index over to_tsvector('english', title || ' ' || text); the
searches filter by user_id/session_id in the same WHERE.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

"""
from alembic import op
import sqlalchemy as sa

import backend_app.models.base  # noqa: F401  (custom column types)

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

SCOPE_NEW = "'u' || new.user_id || '0 s' || new.session_id || '0'"
SCOPE_OLD = "'u' || old.user_id || '0 s' || old.session_id || '0'"
FTS_INSERT = f"INSERT INTO shot_fts(rowid, scope, title, text) VALUES (new.rowid, {SCOPE_NEW}, new.title, new.text);"
FTS_DELETE = (f"INSERT INTO shot_fts(shot_fts, rowid, scope, title, text) "
              f"VALUES ('delete', old.rowid, {SCOPE_OLD}, old.title, old.text);")
SQLITE_UP = [
    "CREATE VIRTUAL TABLE shot_fts USING fts5(scope, title, text, content='', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER shot_documents_fts_ai AFTER INSERT ON shot_documents BEGIN {FTS_INSERT} END",
    f"CREATE TRIGGER shot_documents_fts_ad AFTER DELETE ON shot_documents BEGIN {FTS_DELETE} END",
    f"CREATE TRIGGER shot_documents_fts_au AFTER UPDATE ON shot_documents BEGIN {FTS_DELETE} {FTS_INSERT} END",
    "INSERT INTO shot_fts(rowid, scope, title, text) SELECT rowid, "
    "'u' || user_id || '0 s' || session_id || '0', title, text FROM shot_documents",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS shot_documents_fts_au",
    "DROP TRIGGER IF EXISTS shot_documents_fts_ad",
    "DROP TRIGGER IF EXISTS shot_documents_fts_ai",
    "DROP TABLE IF EXISTS shot_fts",
]
PG_UP = ["CREATE INDEX ix_shot_documents_search ON shot_documents "
         "USING gin (to_tsvector('english'::regconfig, title || ' ' || text))"]
PG_DOWN = ["DROP INDEX IF EXISTS ix_shot_documents_search"]


def _run(statements):
    for statement in statements:
        op.execute(statement)


def upgrade():
    op.create_table('chat_messages',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('citations', sa.JSON(), nullable=True),
    sa.Column('provider', sa.String(length=20), nullable=True),
    sa.Column('notice', sa.String(length=40), nullable=True),
    sa.Column('created_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_chat_messages_session_id_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_messages_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_messages'))
    )
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_messages_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_messages_session_id'), ['session_id'], unique=False)
        batch_op.create_index('ix_chat_messages_thread', ['user_id', 'session_id', 'created_at'], unique=False)

    _run(PG_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP)


def downgrade():
    _run(PG_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN)
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_chat_messages_thread')
        batch_op.drop_index(batch_op.f('ix_chat_messages_session_id'))
        batch_op.drop_index(batch_op.f('ix_chat_messages_created_at'))
    op.drop_table('chat_messages')
