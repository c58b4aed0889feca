"""disc jobs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:26:17.684691
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('disc_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('selection', sa.Text(), nullable=False),
    sa.Column('media', sa.String(length=16), nullable=False),
    sa.Column('profile', sa.String(length=32), nullable=False),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=256), nullable=False),
    sa.Column('progress_done', sa.BigInteger(), nullable=False),
    sa.Column('progress_total', sa.BigInteger(), nullable=False),
    sa.Column('progress_message', sa.String(length=128), nullable=False),
    sa.Column('volumes', sa.Text(), nullable=False),
    sa.Column('discs', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('disc_job', schema=None) as batch_op:
        batch_op.create_index('ix_disc_job_state', ['state'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('disc_job', schema=None) as batch_op:
        batch_op.drop_index('ix_disc_job_state')

    op.drop_table('disc_job')

