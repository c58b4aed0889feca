"""Every schema change is an Alembic migration: the migrated schema is exactly the models'."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select

from publisher.db import migrate
from publisher.db.models import AuditEvent, Base
from publisher.db.session import Database


def _differences(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        return list(compare_metadata(ctx, Base.metadata))


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    db = Database(db_url)
    migrate.upgrade(db.engine)
    assert _differences(db) == []
    db.dispose()


def test_times_keep_microseconds(db_url: str) -> None:
    """Rules compare arrival and job times finely; MariaDB's plain DATETIME kept whole seconds."""
    db = Database(db_url)
    migrate.upgrade(db.engine)
    at = dt.datetime(2026, 11, 25, 14, 0, 0, 123456)
    with db.engine.begin() as conn:
        conn.execute(insert(AuditEvent.__table__), {"at": at, "actor": "t", "action": "a", "subject": "", "detail": ""})
        assert conn.execute(select(AuditEvent.__table__.c.at)).scalar() == at
    db.dispose()


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    db = Database(db_url)
    migrate.upgrade(db.engine)
    migrate.downgrade(db.engine, "0002")
    assert migrate.current_revision(db.engine) == "0002"
    migrate.upgrade(db.engine)
    assert migrate.current_revision(db.engine) == migrate.head_revision()
    assert _differences(db) == []
    db.dispose()
