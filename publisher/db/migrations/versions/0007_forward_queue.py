"""the router's durable forward queue and the instances it has looked at

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 01:20:00.000000

``forward_item``: one row per instance and destination (publisher.routing.queue).
``routed_instance``: the instances the router evaluated, so a restart resumes where it stopped.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        'forward_item',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('sop_instance_uid', sa.String(64), nullable=False),
        sa.Column('destination', sa.String(16), nullable=False),
        sa.Column('route', sa.String(64), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('due_at', TIMESTAMP, nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        sa.Column('sent_at', TIMESTAMP, nullable=True),
        sa.UniqueConstraint('sop_instance_uid', 'destination', name='uq_forward_instance_destination'),
    )
    op.create_index('ix_forward_due', 'forward_item', ['state', 'due_at'])
    op.create_table(
        'routed_instance',
        sa.Column('instance_fk', sa.Integer(), sa.ForeignKey('instance.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('routed_at', TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table('routed_instance')
    op.drop_index('ix_forward_due', table_name='forward_item')
    op.drop_table('forward_item')
