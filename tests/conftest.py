"""Shared fixtures: real peers (DCMTK, dicom3tools, ...), databases on three backends, servers.

With ``CI=true`` a test that would skip because a peer is missing fails instead: interop tests
always run in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.archive.parse import configure_pydicom
from tests.support.certs import certs# noqa: F401  (a fixture: a test PKI per module)
from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.support.databases import fresh_database
from tests.support.tools import IN_CI

configure_pydicom()  # as the service does at start: tests build Archive() themselves


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
        if skipped:
            session.exitstatus = 1
            if reporter:
                reporter.write_line(f"CI=true: {skipped} skipped test(s) count as failures", red=True)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each backend: the index must behave the same on all three."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.db'}"
    else:
        yield from fresh_database(request.param)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'index.db'}"


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One Chromium for the whole run: Playwright's sync API cannot start twice in one thread."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
