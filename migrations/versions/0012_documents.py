"""documents: uploaded text files (PDF, DOCX, PPTX, ODT, Markdown, text, page images) and their pages

Revision ID: 0012_documents
Revises: 0010_usage_outcome
Create Date: 2026-12-07

"""
from alembic import op
import sqlalchemy as sa

import backend_app.models.base

revision = '0012_documents'
down_revision = "0011_passages"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'documents',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('session_id', sa.String(length=32), nullable=False),
        sa.Column('job_id', sa.String(length=32), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('storage_key', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('stage', sa.String(length=40), nullable=True),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('page_count', sa.Integer(), nullable=True),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('error_code', sa.String(length=60), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('created_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('completed_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_documents_job_id_jobs'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_documents_session_id_sessions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_documents_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
        sa.UniqueConstraint('job_id', name=op.f('uq_documents_job_id')),
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_user_id'), ['user_id'], unique=False)
    op.create_table(
        'document_pages',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('document_id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('session_id', sa.String(length=32), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('words', sa.Integer(), nullable=False),
        sa.Column('ocr', sa.Boolean(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('headings', sa.JSON(), nullable=False),
        sa.Column('thumb_key', sa.String(length=300), nullable=True),
        sa.Column('created_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_pages_document_id_documents'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_document_pages_session_id_sessions'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_document_pages_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_document_pages')),
        sa.UniqueConstraint('document_id', 'number', name='uq_document_pages_document_number'),
    )
    with op.batch_alter_table('document_pages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_pages_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_pages_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_pages_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('document_pages')
    op.drop_table('documents')
