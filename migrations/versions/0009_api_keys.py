"""api keys: personal keys for machine clients (api_keys, hashed) and their audit (api_key_events)

Revision ID: 0009_api_keys
Revises: 0008
Create Date: 2026-12-07

"""
from alembic import op
import sqlalchemy as sa

import backend_app.models.base

revision = '0009_api_keys'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'api_keys',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('created_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_keys_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    )
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_keys_user_id'), ['user_id'], unique=False)
    op.create_table(
        'api_key_events',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('key_id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('action', sa.String(length=8), nullable=False),
        sa.Column('at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('method', sa.String(length=8), nullable=True),
        sa.Column('path', sa.String(length=300), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('code', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['key_id'], ['api_keys.id'], name=op.f('fk_api_key_events_key_id_api_keys'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_key_events_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key_events')),
    )
    with op.batch_alter_table('api_key_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_key_events_key_id'), ['key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_key_events_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('api_key_events')
    op.drop_table('api_keys')
