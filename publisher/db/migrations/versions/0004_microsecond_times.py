"""times with microseconds on MariaDB/MySQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 14:00:00.000000

MariaDB and MySQL store a plain DATETIME in whole seconds; SQLite (text) and PostgreSQL
(timestamp) already keep microseconds. Unattended rules compare "latest arrival" with "job
created" times, and a second is too coarse for that.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

COLUMNS = (
    ("patient", "created_at"),
    ("study", "created_at"),
    ("series", "created_at"),
    ("instance", "received_at"),
    ("audit_event", "at"),
    ("disc_job", "created_at"),
    ("disc_job", "updated_at"),
    ("web_user", "created_at"),
    ("web_user", "password_changed_at"),
)


def _mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if not _mysql():
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=mysql.DATETIME(fsp=6), existing_type=sa.DateTime(), existing_nullable=False)


def downgrade() -> None:
    if not _mysql():
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.DateTime(), existing_type=mysql.DATETIME(fsp=6), existing_nullable=False)
