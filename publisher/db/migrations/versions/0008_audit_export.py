"""audit export queue: audit_event.sent_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 01:00:00.000000

``sent_at``: when publisher.atna handed the event to the Audit Record Repository (PS3.15 A.5,
IHE ATNA); NULL while it waits. Events recorded before this revision are marked sent at their
own time: the repository gets the trail from the upgrade on, not years of history at once.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb'),
                                      nullable=True))
        batch_op.create_index('ix_audit_unsent', ['sent_at'], unique=False)
    op.execute("UPDATE audit_event SET sent_at = at")


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_unsent')
        batch_op.drop_column('sent_at')
