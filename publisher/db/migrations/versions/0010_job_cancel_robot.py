"""disc jobs: a person's cancel request while burning, and the robot a job burns on

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 01:00:00.000000

``cancel_requested``: a person asked to cancel a burning job; the burn step (whichever process
runs it) sees the flag and asks its robot to stop (issue 14).
``robot``: the configured robot (``[[robots]]`` name) the job burns on; empty: the default one.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('disc_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancel_requested', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('robot', sa.String(64), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('disc_job', schema=None) as batch_op:
        batch_op.drop_column('robot')
        batch_op.drop_column('cancel_requested')
