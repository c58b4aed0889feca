"""disc job options for real-world media: lossless compression, excluded instances, planning problems

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000

``compress``: compress native images losslessly where the profile allows (issue 12).
``exclude``: JSON {SOP Instance UID: reason} the operator left out of the job's discs.
``problems``: JSON list of the instances the last planning found unable to go on the medium.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('disc_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compress', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('exclude', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('problems', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('disc_job', schema=None) as batch_op:
        batch_op.drop_column('problems')
        batch_op.drop_column('exclude')
        batch_op.drop_column('compress')
