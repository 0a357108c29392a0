"""jobs: tables of the jobs area (placeholder until that area adds its tables)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import backend_app.models.base  # noqa: F401  (custom column types)

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
