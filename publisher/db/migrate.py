"""Alembic migrations run from code: the service upgrades on start; ``publisher db upgrade``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head", archive_root: Path | None = None) -> None:
    """Bring the schema at ``engine`` to ``revision`` (idempotent). ``archive_root`` lets a data
    migration read stored files (0005 re-reads the demographics of patients it splits)."""
    _run(engine, command.upgrade, revision, archive_root)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, command.downgrade, revision, None)


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str, archive_root: Path | None) -> None:
    """One Alembic command in one transaction. On SQLite, foreign keys are off meanwhile and
    checked afterwards: changing a constraint rebuilds the table (Alembic batch mode), and
    dropping the old table with foreign keys on would cascade-delete every row referring to it
    (SQLite ``DROP TABLE``: an implicit ``DELETE FROM`` runs the ON DELETE actions). The pragma
    only takes effect outside a transaction, so it is set on the connection before it begins."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    cfg.attributes["archive_root"] = str(archive_root) if archive_root is not None else None
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                step(cfg, revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration to {revision} left rows whose parent is gone: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
