"""flags: tables of the flags area (placeholder until that area adds its tables)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import backend_app.models.base  # noqa: F401  (custom column types)

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
