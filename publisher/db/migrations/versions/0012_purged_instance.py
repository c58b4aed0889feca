"""purged_instance: what retention deleted, so the index still knows it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 02:00:00.000000

One row per instance whose file and row retention removed (publisher.retention): its UIDs, its
patient, where its file was and when it arrived; a disc job naming it fetches it back first.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

_TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        'purged_instance',
        sa.Column('sop_instance_uid', sa.String(64), primary_key=True),
        sa.Column('series_instance_uid', sa.String(64), nullable=False),
        sa.Column('study_instance_uid', sa.String(64), nullable=False),
        sa.Column('patient_fk', sa.Integer(), sa.ForeignKey('patient.id', ondelete='SET NULL'), nullable=True),
        sa.Column('sop_class_uid', sa.String(64), nullable=False),
        sa.Column('path', sa.String(512), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('received_at', _TS, nullable=False),
        sa.Column('purged_at', _TS, nullable=False),
        sa.Column('reason', sa.String(16), nullable=False),
    )
    op.create_index('ix_purged_instance_series_instance_uid', 'purged_instance', ['series_instance_uid'])
    op.create_index('ix_purged_instance_study_instance_uid', 'purged_instance', ['study_instance_uid'])
    op.create_index('ix_purged_instance_patient_fk', 'purged_instance', ['patient_fk'])


def downgrade() -> None:
    op.drop_table('purged_instance')
