"""people: the persons the faces analyser found per analysis, with their face embeddings

Per user only: ``user_person`` links the same face across one user's videos.

Revision ID: 0014_people
Revises: 0010_usage_outcome
Create Date: 2026-12-07

"""
from alembic import op
import sqlalchemy as sa

import backend_app.models.base

revision = '0014_people'
down_revision = "0012_documents"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'people',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('analysis_id', sa.String(length=32), nullable=False),
        sa.Column('person_id', sa.String(length=16), nullable=False),
        sa.Column('label', sa.String(length=40), nullable=False),
        sa.Column('user_person', sa.String(length=32), nullable=False),
        sa.Column('embedding', sa.LargeBinary(), nullable=False),
        sa.Column('face_key', sa.String(length=300), nullable=True),
        sa.Column('created_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['analysis_id'], ['analyses.id'], name=op.f('fk_people_analysis_id_analyses'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_people_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
        sa.UniqueConstraint('analysis_id', 'person_id', name='uq_people_analysis_person'),
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_people_analysis_id'), ['analysis_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_people_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_people_user_person', ['user_id', 'user_person'], unique=False)


def downgrade():
    op.drop_table('people')
