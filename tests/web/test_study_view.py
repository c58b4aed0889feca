"""Issue 16 acceptance 4: Chromium opens an archived CT study in the web viewer (the on-disc
viewer, served from ``/studies/{uid}/view``) and shows the same pixels as the disc viewer does:
the frame equals :func:`viewer_bundle.render_reference` of the stored file, the check the disc
viewer passes in tests/viewer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from publisher.demo import samples
from tests.support.served import publisher_serve
from viewer_bundle import render_reference

pytestmark = [pytest.mark.interop]


def _until(page, expression: str, tries: int = 150) -> None:  # type: ignore[no-untyped-def]
    """Poll ``expression`` with page.evaluate: the page's CSP (default-src 'self', no eval)
    refuses the string predicates of Playwright's wait_for_function, as it should."""
    for _ in range(tries):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {expression} at {page.url}: {getattr(page, 'log', [])}")


def test_archived_ct_study_shows_the_discs_pixels(chromium, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = samples.demo_studies(ct_slices=4)[0]
    files = samples.write_study(spec, tmp_path / "src")
    study_uid = str(dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
    with publisher_serve(tmp_path, users={"rad": ("radiologist", "rad-password-1")}) as served:
        assert served.cli("import", "-q", str(tmp_path / "src")).returncode == 0
        context = chromium.new_context(viewport={"width": 1200, "height": 760})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.log = []
        page.on("console", lambda m: page.log.append(m.text))
        page.on("response", lambda r: page.log.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"{served.base}/studies/{study_uid}/view")
        assert "/login" in page.url  # behind the login like every page
        page.fill("input[name=username]", "rad")
        page.fill("input[name=password]", "rad-password-1")
        page.click("button[type=submit]")
        _until(page, "!!(window.DV && DV.shown)")
        button = page.locator("button.series", has_text="Axial 2mm")
        key = button.get_attribute("data-key")
        button.click()
        _until(page, f"!!(DV.shown && DV.shown.key === '{key}')")
        snap = page.evaluate("DV.debug.snapshot()")
        img = np.array(snap["data"], dtype=np.int16).reshape(snap["h"], snap["w"], 4)
        state = snap["state"]
        source = next(f for f in files if dcmread(f, stop_before_pixels=True).get("SeriesDescription") == "Axial 2mm"
                      and int(dcmread(f, stop_before_pixels=True).InstanceNumber) == state["n"])
        ref = render_reference(dcmread(source), state["f"] - 1, state["wc"], state["ww"]).astype(np.int16)
        assert img[..., 0].shape == ref.shape
        assert np.abs(img[..., 0] - ref).max() == 0
        assert errors == []
        context.close()
