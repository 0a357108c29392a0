"""study: material made from documents (summary, key terms, flashcards, quiz) and flashcard reviews

Revision ID: 0013_study
Revises: 0012_documents
Create Date: 2026-12-07

"""
from alembic import op
import sqlalchemy as sa

from backend_app.models.base import UTCDateTime

revision = '0013_study'
down_revision = '0014_people'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'study_materials',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('session_id', sa.String(length=32), nullable=False),
        sa.Column('document_id', sa.String(length=32), nullable=True),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('target_key', sa.String(length=60), nullable=False),
        sa.Column('job_id', sa.String(length=32), nullable=True),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('provider', sa.String(length=16), nullable=True),
        sa.Column('model', sa.String(length=100), nullable=True),
        sa.Column('fallback', sa.JSON(), nullable=True),
        sa.Column('dropped', sa.Integer(), nullable=False),
        sa.Column('page_count', sa.Integer(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('completed_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('job_id'),
        sa.UniqueConstraint('target_key'),
    )
    with op.batch_alter_table('study_materials', schema=None) as batch_op:
        for column in ('user_id', 'session_id', 'document_id', 'content_hash', 'created_at'):
            batch_op.create_index(batch_op.f(f'ix_study_materials_{column}'), [column], unique=False)
    op.create_table(
        'flashcard_reviews',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('material_id', sa.String(length=32), nullable=False),
        sa.Column('card_key', sa.String(length=64), nullable=False),
        sa.Column('box', sa.Integer(), nullable=False),
        sa.Column('interval_days', sa.Integer(), nullable=False),
        sa.Column('reviews', sa.Integer(), nullable=False),
        sa.Column('lapses', sa.Integer(), nullable=False),
        sa.Column('due_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('reviewed_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['material_id'], ['study_materials.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'material_id', 'card_key', name='uq_flashcard_reviews_card'),
    )
    with op.batch_alter_table('flashcard_reviews', schema=None) as batch_op:
        for column in ('user_id', 'material_id', 'due_at'):
            batch_op.create_index(batch_op.f(f'ix_flashcard_reviews_{column}'), [column], unique=False)


def downgrade():
    with op.batch_alter_table('flashcard_reviews', schema=None) as batch_op:
        for column in ('user_id', 'material_id', 'due_at'):
            batch_op.drop_index(batch_op.f(f'ix_flashcard_reviews_{column}'))
    op.drop_table('flashcard_reviews')
    with op.batch_alter_table('study_materials', schema=None) as batch_op:
        for column in ('user_id', 'session_id', 'document_id', 'content_hash', 'created_at'):
            batch_op.drop_index(batch_op.f(f'ix_study_materials_{column}'))
    op.drop_table('study_materials')
