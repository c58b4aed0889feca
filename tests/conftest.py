"""Shared fixtures: real peers (DCMTK, dicom3tools, ...), databases on three backends, servers.

With ``CI=true`` a test that would skip because a peer is missing fails instead: interop tests
always run in CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from publisher.archive.parse import configure_pydicom

configure_pydicom()  # as the service does at start: tests build Archive() themselves

IN_CI = os.environ.get("CI", "").lower() == "true"

PG_ADMIN_URL = os.environ.get("PUBLISHER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_ADMIN_URL = os.environ.get("PUBLISHER_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI (a skipped interop test is a failure there)."""
    if IN_CI:
        pytest.fail(f"required peer unavailable in CI: {reason}")
    pytest.skip(reason)


def require_tool(*names: str) -> None:
    for name in names:
        if shutil.which(name) is None:
            unavailable(f"{name} is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: DCMTK tools (and Orthanc, which embeds DCMTK) wait ~40 ms per message on loopback without it.
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def wait_echo(port: int, aec: str, timeout: float = 60) -> None:
    """Return once something answers C-ECHO as ``aec`` on ``port`` (a peer or our server starting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(["echoscu", "-aet", "ECHOSCU", "-aec", aec, "127.0.0.1", str(port)], capture_output=True, env=DCMTK_ENV)
        if r.returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered C-ECHO as {aec} on port {port} within {timeout} s")


@contextmanager
def storescp(out: Path, ae_title: str, *options: str, ready: Callable[[int, "subprocess.Popen[bytes]"], None] | None = None) -> Iterator[int]:
    """DCMTK storescp writing what it receives into ``out``, on a free port (yielded); extra
    ``options`` go before the port (a profile, TLS...). ``ready`` waits until it serves (default:
    a plain C-ECHO)."""
    require_tool("storescp", "echoscu")
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(["storescp", "-aet", ae_title, *options, "-od", str(out), str(port)], env=DCMTK_ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if ready is None:
            wait_echo(port, ae_title)
        else:
            ready(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
        if skipped:
            session.exitstatus = 1
            if reporter:
                reporter.write_line(f"CI=true: {skipped} skipped test(s) count as failures", red=True)


def _fresh_database(kind: str) -> Iterator[str]:
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


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each backend: the index must behave the same on all three."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.db'}"
    else:
        yield from _fresh_database(request.param)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'index.db'}"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip without Chromium, but fail under CI=true: a skipped browser test is a failure there."""
    if not (Path(CHROMIUM).exists() and shutil.which(CHROMIUM)):
        msg = f"{CHROMIUM} missing (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("playwright missing (pip install playwright)")
        pytest.skip("playwright missing")


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One Chromium for the whole run: Playwright's sync API cannot start twice in one thread."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
