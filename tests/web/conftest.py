"""Fixtures for the web UI: an index with sample studies (non-ASCII names and one that tries
script injection), the three kinds of users, and TestClients that log in through the form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.web_site import Site, make_site














@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[Site]:
    """The web app on a fresh database of each backend."""
    s = make_site(tmp_path, db_url)
    yield s
    s.db.dispose()


@pytest.fixture
def sqlite_site(tmp_path: Path, sqlite_url: str) -> Iterator[Site]:
    s = make_site(tmp_path, sqlite_url)
    yield s
    s.db.dispose()


