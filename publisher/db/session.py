"""Engines and sessions tuned per backend (SQLite, PostgreSQL via psycopg 3, MariaDB via PyMySQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

#: The handle :meth:`Database.session` yields: web, cli and dicom pass it on to the functions that
#: read (:mod:`publisher.archive.lookup`) and write (:mod:`publisher.audit`, ...) inside one
#: transaction, and never query with it themselves.
Transaction: TypeAlias = Session


#: Execution option of :meth:`Database.reading`'s connections: a deferred BEGIN on SQLite.
READ_ONLY = "publisher_read_only"


def _sqlite_setup(engine: Engine) -> None:
    """WAL so readers never block the writer; BEGIN IMMEDIATE so concurrent writers queue on the
    busy timeout instead of failing a lock upgrade; synchronous=FULL keeps a committed row
    through a power cut, as a C-STORE success promises (docs/architecture.md, section 7)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event below drive transactions
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings each backend needs under concurrent ingest."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    options: dict[str, Any] = {"future": True, "pool_pre_ping": backend != "sqlite"}
    if backend == "sqlite":
        options["connect_args"] = {"check_same_thread": False, "timeout": 60}
    elif backend in ("mysql", "mariadb"):
        # Under REPEATABLE READ a get-or-create that lost an insert race cannot see the winner's row.
        options["isolation_level"] = "READ COMMITTED"
        options["pool_size"] = 20
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    elif backend == "postgresql":
        options["pool_size"] = 20
    options.update(kwargs)
    engine = create_engine(parsed, **options)
    if backend == "sqlite":
        _sqlite_setup(engine)
    return engine


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session that only reads, rolled back at the end: on SQLite its transaction begins
        deferred (a shared read snapshot in WAL mode), so a long read such as a streaming C-FIND
        never holds the write lock that ingest needs."""
        with self.engine.connect() as conn, Session(conn.execution_options(**{READ_ONLY: True})) as s:
            try:
                yield s
            finally:
                s.rollback()

    def ping(self) -> None:
        """Raise unless the database answers a trivial query (the web's ``/health``)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
