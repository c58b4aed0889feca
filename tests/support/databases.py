"""Fresh, empty databases on the PostgreSQL and MariaDB servers of this machine (dropped afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

from tests.support.tools import unavailable

PG_ADMIN_URL = os.environ.get("PUBLISHER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


MARIADB_ADMIN_URL = os.environ.get("PUBLISHER_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")


def fresh_database(kind: str) -> Iterator[str]:
    """A new, empty database on the server of ``kind``; dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = PG_ADMIN_URL if kind == "postgresql" else MARIADB_ADMIN_URL
    name = f"pubtest_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # server not running
        unavailable(f"{kind} at {admin_url} not reachable: {exc.__class__.__name__}: {exc}")
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()

