"""fair use: per-user quota overrides (user_quotas) and jobs.dispatched_at

jobs.dispatched_at marks a queued row that holds one of its user's dispatch slots (it has, or
should have, an RQ job); a queued row without it waits in the database for its turn. Rows
already queued or running were handed to RQ under the old rules, so they count as dispatched.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa

import backend_app.models.base

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'user_quotas',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('storage_bytes', sa.BigInteger(), nullable=True),
        sa.Column('uploads_per_hour', sa.Integer(), nullable=True),
        sa.Column('concurrent_jobs', sa.Integer(), nullable=True),
        sa.Column('updated_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dispatched_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE jobs SET dispatched_at = COALESCE(enqueued_at, queued_at, created_at) "
        "WHERE status IN ('queued', 'running')"
    )


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('dispatched_at')
    op.drop_table('user_quotas')
