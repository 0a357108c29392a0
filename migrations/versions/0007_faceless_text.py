"""shot documents: drop "no face detected" from the indexed text

Offline descriptions said ", no face detected" of every faceless shot, and each shot document
carries its description: "Are there faces?" matched every shot. New analyses no longer write it
(services/describe.py); this removes it from the documents already written. The SQLite index
follows through its update trigger (0003), PostgreSQL's expression index by itself. Reports
keep their descriptions as written.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

PHRASE = ", no face detected"


def upgrade():
    op.execute(f"UPDATE shot_documents SET text = REPLACE(text, '{PHRASE}', '') WHERE text LIKE '%{PHRASE}%'")


def downgrade():
    pass  # the phrase said nothing the shot's face count does not: nothing to put back
