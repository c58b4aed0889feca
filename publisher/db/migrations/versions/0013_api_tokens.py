"""api tokens: bearer tokens for DICOMweb scripts, kept as their SHA-256

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 02:00:00.000000

``api_token``: a token made by ``publisher user token NAME`` acts as that web user (its role,
its enabled state) on the DICOMweb routes (issue 16); only its hash is stored.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_TS = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_fk', sa.Integer(), sa.ForeignKey('web_user.id', ondelete='CASCADE'), nullable=False),
        sa.Column('label', sa.String(64), nullable=False),
        sa.Column('token_sha256', sa.String(64), nullable=False, unique=True),
        sa.Column('created_at', _TS, nullable=False),
        sa.Column('revoked', sa.Boolean(), nullable=False),
    )
    op.create_index('ix_api_token_user_fk', 'api_token', ['user_fk'])


def downgrade() -> None:
    op.drop_table('api_token')  # its index with it (MariaDB refuses to drop an index a foreign key needs)
