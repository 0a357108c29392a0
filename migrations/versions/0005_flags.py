"""flags: feature flags and their audit trail

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

"""
from alembic import op
import sqlalchemy as sa

import backend_app.models.base  # noqa: F401  (custom column types)

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('flags',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('rollout_percent', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.Column('updated_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rollout_percent >= 0 AND rollout_percent <= 100',
                       name=op.f('ck_flags_rollout_percent_range')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_flags'))
    )
    op.create_table('flag_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('flag_key', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_audit'))
    )
    with op.batch_alter_table('flag_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_audit_flag_key'), ['flag_key'], unique=False)


def downgrade():
    with op.batch_alter_table('flag_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_audit_flag_key'))
    op.drop_table('flag_audit')
    op.drop_table('flags')
