"""Screenshots of the web UI's pages that no flow test photographs (login, account, disc jobs,
forward queue, remote PACS, robots, API operations, an archived study in the viewer), taken from a
real ``publisher serve`` with the demo studies, in Chromium:

    .venv/bin/python docs/make_page_screenshots.py      # writes docs/screenshots/page-*.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.served import publisher_serve  # noqa: E402

PAGES = [("login", "/login"), ("account", "/account"), ("jobs", "/jobs"), ("forwards", "/forwards"),
         ("pacs", "/pacs"), ("robots", "/robots"), ("api-docs", "/docs"), ("studies", "/studies")]


def main() -> None:
    out = ROOT / "docs" / "screenshots"
    with tempfile.TemporaryDirectory() as tmp, publisher_serve(
            Path(tmp), {"PUBLISHER_LOAD_SAMPLES": "true", "PUBLISHER_JOBS_WORKER": "false"},
            users={"boss": ("admin", "boss-password-1")}) as served, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(locale="en-GB", viewport={"width": 1400, "height": 900}).new_page()
        page.goto(served.base + "/login")
        page.screenshot(path=str(out / "page-login.png"), full_page=True)
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", "boss-password-1")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        for name, path in PAGES[1:]:
            page.goto(served.base + path)
            page.screenshot(path=str(out / f"page-{name}.png"), full_page=True)
        study = page.locator("tr[data-study]").first.get_attribute("data-study")
        page.goto(served.base + f"/studies/{study}/view")
        page.wait_for_timeout(3000)  # the viewer draws its first image
        page.screenshot(path=str(out / "page-study-viewer.png"))
        browser.close()


if __name__ == "__main__":
    main()
