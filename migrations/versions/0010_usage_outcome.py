"""usage outcome: what became of each model call (ok, invalid, truncated, loop, timeout, aborted, failed)

Calls that timed out, were left by their reader or failed are recorded now, with estimated
tokens; rows from before were all answers.

Revision ID: 0010_usage_outcome
Revises: 0009_api_keys
Create Date: 2026-12-07

"""
from alembic import op
import sqlalchemy as sa

revision = '0010_usage_outcome'
down_revision = '0009_api_keys'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=16), nullable=False, server_default='ok'))


def downgrade():
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.drop_column('outcome')
