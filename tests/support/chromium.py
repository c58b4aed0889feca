"""Debian's Chromium for browser tests (Playwright drives it); skipped locally without it, a failure under CI=true."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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

