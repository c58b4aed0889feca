"""Regenerate the viewer screenshots in this folder (Chromium, file://, default settings).

    .venv/bin/python docs/viewer/make_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.support.viewer import disc_studies, lay_out  # noqa: E402
from viewer_bundle import content_from_files, write_viewer  # noqa: E402


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="viewer_shots_"))
    files = lay_out(root, disc_studies())
    write_viewer(content_from_files(files), root)
    url = (root / "VIEWER/INDEX.HTM").as_uri()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        def page(locale: str = "en-US", width: int = 1280, height: int = 800):  # type: ignore[no-untyped-def]
            ctx = browser.new_context(locale=locale, viewport={"width": width, "height": height})
            pg = ctx.new_page()
            pg.goto(url)
            pg.wait_for_function("window.DV && DV.shown")
            return pg

        pg = page()
        pg.keyboard.press("End")
        pg.wait_for_function("DV.shown.frame === 23")
        pg.keyboard.press("Home")
        for _ in range(6):
            pg.keyboard.press("ArrowDown")
        pg.wait_for_function("DV.shown.frame === 6")
        pg.screenshot(path=HERE / "viewer-ct.png")

        pg = page("fr-FR")
        pg.select_option("#preset", index=3)
        pg.click("[data-tool=measure]")
        a = pg.evaluate("DV.debug.toClient(22, 64)")
        b = pg.evaluate("DV.debug.toClient(106, 64)")
        pg.mouse.move(*a)
        pg.mouse.down()
        pg.mouse.move(*b)
        pg.mouse.up()
        pg.screenshot(path=HERE / "viewer-measure-fr.png")

        pg = page()
        pg.locator("button.series", has_text="SR 90").click()
        pg.locator("#doc").wait_for(state="visible")
        pg.screenshot(path=HERE / "viewer-sr.png")

        pg = page("de-DE")
        pg.locator("button.series", has_text="DOC 91").click()
        pg.locator("#doc iframe").wait_for(state="attached")
        pg.wait_for_timeout(1500)
        pg.screenshot(path=HERE / "viewer-pdf-de.png")

        pg = page()
        pg.locator("button.series", has_text="US cine").click()
        pg.wait_for_function("DV.shown.key === 'S0000006'")
        pg.screenshot(path=HERE / "viewer-us-rgb.png")
        pg.locator("button.series", has_text="Chest PA").click()
        pg.wait_for_function("DV.shown.key === 'S0000005'")
        pg.screenshot(path=HERE / "viewer-cr-monochrome1.png")

        pg = page("ja-JP", 390, 780)
        pg.screenshot(path=HERE / "viewer-phone.png")
        browser.close()
    print("screenshots written to", HERE)


if __name__ == "__main__":
    main()
