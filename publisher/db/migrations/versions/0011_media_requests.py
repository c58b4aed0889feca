"""media creation requests received over DICOM (PS3.4 Annex S)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 01:55:00.000000

``media_request``: one row per Media Creation Management SOP Instance (publisher.jobs.media_requests).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        'media_request',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('sop_instance_uid', sa.String(64), nullable=False, unique=True),
        sa.Column('calling_ae', sa.String(16), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('refs', sa.Text(), nullable=False),
        sa.Column('attributes', sa.Text(), nullable=False),
        sa.Column('failed', sa.Text(), nullable=False),
        sa.Column('job_id', sa.Integer(), sa.ForeignKey('disc_job.id'), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        sa.Column('updated_at', TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table('media_request')
