"""Fixtures for Query/Retrieve tests: our service with the standard test archive loaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.config import SERVICES, AllowedCaller
from publisher.service import Service
from tests.foundation.helpers import running_service, settings_for
from tests.qr.helpers import load

#: Every QR test caller may use every service (rights themselves: tests/foundation/test_caller_rights.py).
QR_CALLERS = tuple(AllowedCaller(t, services=frozenset(SERVICES))
                   for t in ("FINDSCU", "MOVESCU", "GETSCU", "STORESCU", "ECHOSCU", "PYNETDICOM", "QRSCU"))


@pytest.fixture
def loaded_service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    """Our service on ``db_url`` (all three backends) with :data:`tests.qr.helpers.STUDIES`."""
    settings = settings_for(tmp_path / "svc", db_url, allowed_callers=QR_CALLERS)
    with running_service(settings) as service:
        load(service.archive, tmp_path)
        yield service
