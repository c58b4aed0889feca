"""Browser flows against a real publisher serve: a radiologist logged in through the form, and screenshots kept for docs when asked."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from tests.support.served import Served

RAD_USERS = {"rad": ("radiologist", "rad-password-1")}


def browser_login(served: Served, chromium: Any, tmp: Path) -> Any:
    context = chromium.new_context(locale="en-GB", viewport={"width": 1500, "height": 1000})  # German has its own test
    page = context.new_page()
    page.goto(served.base + "/studies")
    page.fill("input[name=username]", "rad")
    page.fill("input[name=password]", RAD_USERS["rad"][1])
    page.click("button[type=submit]")
    page.wait_for_url(served.base + "/studies")
    return context, page


def screenshot(page: Any, tmp: Path, name: str) -> None:
    """A screenshot of the page, kept in docs/screenshots when asked."""
    path = tmp / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    target = os.environ.get("PUBLISHER_SCREENSHOTS")
    if target:
        shutil.copy(path, Path(target) / path.name)

