"""requirements: requirement batches and their per-row results (text never stored, only its SHA-256)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

"""
from alembic import op
import sqlalchemy as sa

import backend_app.models.base  # noqa: F401  (custom column types)

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('requirement_batches',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=True),
    sa.Column('job_id', sa.String(length=32), nullable=True),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('variant', sa.String(length=8), nullable=False),
    sa.Column('criteria_keys', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('done_rows', sa.Integer(), nullable=False),
    sa.Column('failed_rows', sa.Integer(), nullable=False),
    sa.Column('v2_fallbacks', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('created_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_requirement_batches_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_requirement_batches_session_id_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_requirement_batches_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requirement_batches')),
    sa.UniqueConstraint('job_id', name=op.f('uq_requirement_batches_job_id'))
    )
    with op.batch_alter_table('requirement_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requirement_batches_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_requirement_batches_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requirement_batches_user_id'), ['user_id'], unique=False)

    op.create_table('requirement_results',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('batch_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=True),
    sa.Column('row_index', sa.Integer(), nullable=False),
    sa.Column('row_key', sa.String(length=100), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('text_sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=True),
    sa.Column('variant', sa.String(length=8), nullable=True),
    sa.Column('engine', sa.String(length=80), nullable=True),
    sa.Column('fallback_code', sa.String(length=40), nullable=True),
    sa.Column('overall', sa.Integer(), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=True),
    sa.Column('findings', sa.JSON(), nullable=True),
    sa.Column('rewrite_sha256', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.String(length=60), nullable=True),
    sa.Column('created_at', backend_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['requirement_batches.id'], name=op.f('fk_requirement_results_batch_id_requirement_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_requirement_results_session_id_sessions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_requirement_results_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requirement_results')),
    sa.UniqueConstraint('batch_id', 'row_index', name=op.f('uq_requirement_results_batch_id'))
    )
    with op.batch_alter_table('requirement_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_requirement_results_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requirement_results_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_requirement_results_text_sha256'), ['text_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_requirement_results_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('requirement_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requirement_results_user_id'))
        batch_op.drop_index(batch_op.f('ix_requirement_results_text_sha256'))
        batch_op.drop_index(batch_op.f('ix_requirement_results_session_id'))
        batch_op.drop_index(batch_op.f('ix_requirement_results_batch_id'))
    op.drop_table('requirement_results')
    with op.batch_alter_table('requirement_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_requirement_batches_user_id'))
        batch_op.drop_index(batch_op.f('ix_requirement_batches_session_id'))
        batch_op.drop_index(batch_op.f('ix_requirement_batches_created_at'))
    op.drop_table('requirement_batches')
