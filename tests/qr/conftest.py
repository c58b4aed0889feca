"""Fixtures for Query/Retrieve tests: our service with the standard test archive loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.service import Service
from tests.support.service import running_service, settings_for
from tests.support.qr_studies import load
from tests.support.qr_studies import QR_CALLERS



@pytest.fixture
def loaded_service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    """Our service on ``db_url`` (all three backends) with :data:`tests.support.qr_studies.STUDIES`."""
    settings = settings_for(tmp_path / "svc", db_url, allowed_callers=QR_CALLERS)
    with running_service(settings) as service:
        load(service.archive, tmp_path)
        yield service
