"""The viewer in Chromium, opened from an extracted ISO 9660 disc tree by file:// URL.

Issue 6 acceptance 1-3: names in several character sets, CT image equal to the Python
reference rendering, stack scrolling, measurement in mm, language switch with English
fallback, SR and PDF readable; plus MONOCHROME1, RGB multi-frame cine.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from pydicom import dcmread

from tests.support.viewer import open_viewer
from viewer_bundle import render_reference
from tests.support.viewer import source_of

pytestmark = [pytest.mark.interop]


def series_button(page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("button.series", has_text=text)


def open_series(page, text: str) -> str:  # type: ignore[no-untyped-def]
    """Click the series whose label holds ``text``; wait until it is shown; return its key."""
    button = series_button(page, text)
    key = button.get_attribute("data-key")
    button.click()
    page.wait_for_function(f"DV.shown && DV.shown.key === '{key}' || !document.getElementById('doc').hidden")
    return key


def shown_image(page) -> tuple[np.ndarray, dict]:  # type: ignore[no-untyped-def]
    """The rendered frame (native resolution canvas drawn from ImageData) as RGBA."""
    snap = page.evaluate("DV.debug.snapshot()")
    data = np.array(snap["data"], dtype=np.int16)
    return data.reshape(snap["h"], snap["w"], 4), snap["state"]




def assert_matches_reference(page, disc, series: str, center=None, width=None, invert=False) -> None:  # type: ignore[no-untyped-def]
    """The shown frame equals render_reference at the viewer's window (or the one given)."""
    img, state = shown_image(page)
    ds = source_of(disc, series, state["n"])
    if center is None:
        center, width = state["wc"], state["ww"]
    ref = render_reference(ds, state["f"] - 1, center, width).astype(np.int16)
    if invert:
        ref = 255 - ref
    if ref.ndim == 2:
        got = img[..., 0]
        assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()
    else:
        got = img[..., :3]
    assert got.shape == ref.shape
    diff = np.abs(got - ref)
    assert diff.max() == 0, f"max difference {diff.max()} grey levels at {np.unravel_index(diff.argmax(), diff.shape)}"


def test_patient_list_shows_latin1_cyrillic_and_cjk_names(viewer) -> None:  # type: ignore[no-untyped-def]
    names = viewer.locator(".pname").all_inner_texts()
    assert "Müller, Jürgen" in names  # ISO_IR 100
    assert "Иванова, Мария" in names  # ISO_IR 192
    assert "山田, 太郎" in names
    assert "CT Schädel nativ" in viewer.locator("#browser").inner_text()


def test_ct_series_shows_image_equal_to_reference(viewer, disc) -> None:  # type: ignore[no-untyped-def]
    open_series(viewer, "Axial 2mm")
    # the visible canvas is not black
    lit = viewer.evaluate(
        "(() => { const c = document.getElementById('view'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 20) n++; return n / (d.length / 4); })()"
    )
    assert lit > 0.2
    assert viewer.evaluate("DV.shown.wc") == 40 and viewer.evaluate("DV.shown.ww") == 400
    assert_matches_reference(viewer, disc, "Axial 2mm", 40, 400)  # the data's own window
    viewer.select_option("#preset", label="CT brain")
    viewer.wait_for_function("DV.shown.ww === 80")
    assert_matches_reference(viewer, disc, "Axial 2mm", 40, 80)
    viewer.select_option("#preset", label="CT lung")
    viewer.wait_for_function("DV.shown.ww === 1500")
    assert_matches_reference(viewer, disc, "Axial 2mm", -600, 1500)
    assert "Müller, Jürgen" in viewer.locator("#ov-tl").inner_text()
    assert "Image 1 / 24" in viewer.locator("#ov-bl").inner_text()


def test_scrolling_changes_slice(viewer, disc) -> None:  # type: ignore[no-untyped-def]
    open_series(viewer, "Axial 2mm")
    first, _ = shown_image(viewer)
    box = viewer.locator("#view").bounding_box()
    viewer.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    viewer.mouse.wheel(0, 120)
    viewer.wait_for_function("DV.shown.frame >= 1")
    second, state = shown_image(viewer)
    assert state["n"] == state["frame"] + 1 > 1
    assert (first != second).any()
    assert_matches_reference(viewer, disc, "Axial 2mm")
    viewer.keyboard.press("End")
    viewer.wait_for_function("DV.shown.frame === 23")
    assert "Image 24 / 24" in viewer.locator("#ov-bl").inner_text()
    assert_matches_reference(viewer, disc, "Axial 2mm")
    viewer.keyboard.press("ArrowUp")
    viewer.wait_for_function("DV.shown.frame === 22")
    # far chunks are dropped from memory (here: all but the current one) and loaded again
    viewer.evaluate("DV.keepChunks = 0")
    viewer.keyboard.press("Home")
    viewer.wait_for_function("DV.shown.frame === 0")
    viewer.keyboard.press("PageDown")  # 2 slices: no decoded copy of them is left
    viewer.keyboard.press("End")
    viewer.wait_for_function("DV.shown.frame === 23")
    for _ in range(12):
        viewer.keyboard.press("PageUp")
    viewer.wait_for_function("DV.shown.frame === 0")
    assert_matches_reference(viewer, disc, "Axial 2mm")


def test_measurement_shows_length_in_mm(viewer) -> None:  # type: ignore[no-untyped-def]
    open_series(viewer, "Axial 2mm")
    viewer.click("[data-tool=measure]")
    a = viewer.evaluate("DV.debug.toClient(20, 30)")
    b = viewer.evaluate("DV.debug.toClient(100, 90)")  # 80 x 60 pixels of 0.5 mm: 50 mm
    viewer.mouse.move(*a)
    viewer.mouse.down()
    viewer.mouse.move((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    viewer.mouse.move(*b)
    viewer.mouse.up()
    label = viewer.locator(".mlabel").inner_text()
    match = re.fullmatch(r"([0-9.]+) mm", label)
    assert match, label
    assert abs(float(match.group(1)) - 50.0) <= 0.3


def test_language_switch_and_english_fallback(viewer) -> None:  # type: ignore[no-untyped-def]
    measure = viewer.locator("[data-tool=measure]")
    assert measure.inner_text() == "Measure"
    viewer.select_option("#lang", "fr")
    assert measure.inner_text() == "Mesurer"
    assert viewer.locator("[data-tool=wl]").inner_text() == "Fenêtrage"
    assert "Série" in viewer.locator("#ov-bl").inner_text()
    assert viewer.evaluate("document.documentElement.lang") == "fr"
    viewer.select_option("#lang", "de")
    assert measure.inner_text() == "Messen"
    # a language file lacking keys (as a newly added, partial translation would be)
    viewer.evaluate("DV.addLanguage('xx', 'Test', {'tool.measure': 'Mät'})")
    viewer.select_option("#lang", "xx")
    assert measure.inner_text() == "Mät"
    assert viewer.locator("[data-tool=wl]").inner_text() == "Window/Level"  # English fallback


def test_browser_language_is_chosen(chromium, disc) -> None:  # type: ignore[no-untyped-def]
    context, page = open_viewer(chromium, disc, locale="nl-BE")
    try:
        assert page.locator("[data-tool=measure]").inner_text() == "Meten"
        assert page.evaluate("DV.debug.state().lang") == "nl"
        assert not page.errors
    finally:
        context.close()


def test_sr_opens_as_text(viewer) -> None:  # type: ignore[no-untyped-def]
    series_button(viewer, "SR 90").click()
    doc = viewer.locator("#doc")
    doc.wait_for(state="visible")
    text = doc.inner_text()
    assert "Radiology Report" in text
    assert "Finding: No acute abnormality. Patient Müller Jürgen." in text
    assert "Completion: COMPLETE" in text


def test_pdf_opens(viewer, disc) -> None:  # type: ignore[no-untyped-def]
    series_button(viewer, "DOC 91").click()
    frame = viewer.locator("#doc iframe")
    frame.wait_for(state="attached")
    src = frame.get_attribute("src")
    assert re.fullmatch(r"DATA/S\d{7}/D\d{7}\.PDF", src)
    path = disc["root"] / "VIEWER" / src
    data = path.read_bytes()
    pdfs = [i.source for p in disc["content"].patients for st in p.studies for se in st.series for i in se.instances if se.modality == "DOC"]
    assert len(pdfs) == 1
    ds = dcmread(pdfs[0])
    assert data == bytes(ds.EncapsulatedDocument)[: int(ds.EncapsulatedDocumentLength)]
    assert b"Report" in data and data.startswith(b"%PDF")
    viewer.wait_for_function("Array.from(document.querySelectorAll('iframe')).length === 1")
    assert any(f.url.endswith(src) for f in viewer.frames)
    assert viewer.locator("#doc a").get_attribute("href") == src
    assert "Иванова, Мария" in viewer.locator("#doc").inner_text()


def test_monochrome1_cr_equals_reference(viewer, disc) -> None:  # type: ignore[no-untyped-def]
    open_series(viewer, "Chest PA")
    assert_matches_reference(viewer, disc, "Chest PA")
    img, _ = shown_image(viewer)
    assert img[0, 0, 0] > 200  # background (low values) shows white in MONOCHROME1


def test_rgb_multiframe_cine(viewer, disc) -> None:  # type: ignore[no-untyped-def]
    open_series(viewer, "US cine")
    assert viewer.evaluate("DV.debug.state().count") == 8
    assert_matches_reference(viewer, disc, "US cine")
    viewer.click("#cine")
    viewer.wait_for_function("DV.shown.frame >= 3", timeout=5_000)
    viewer.click("#cine")
    assert_matches_reference(viewer, disc, "US cine")
    assert "Frame" in viewer.locator("#ov-bl").inner_text()


def test_window_drag_invert_zoom_stay_exact(viewer, disc) -> None:  # type: ignore[no-untyped-def]
    open_series(viewer, "Axial 2mm")
    box = viewer.locator("#view").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    viewer.mouse.move(x, y)
    viewer.mouse.down()
    viewer.mouse.move(x + 37, y - 23)
    viewer.mouse.up()
    state = viewer.evaluate("DV.debug.state()")
    assert (state["wc"], state["ww"]) != (40, 400) and state["ww"] != int(state["ww"])  # fractional window
    assert_matches_reference(viewer, disc, "Axial 2mm")
    viewer.keyboard.press("i")
    assert_matches_reference(viewer, disc, "Axial 2mm", invert=True)
    assert "Invert" in viewer.locator("#ov-br").inner_text()
    viewer.keyboard.press("r")
    viewer.wait_for_function("DV.debug.state().ww === 400")
    zoom = viewer.evaluate("DV.debug.state().zoom")
    viewer.keyboard.down("Control")
    viewer.mouse.wheel(0, -200)
    viewer.keyboard.up("Control")
    viewer.wait_for_function(f"DV.debug.state().zoom > {zoom}")
    assert_matches_reference(viewer, disc, "Axial 2mm", 40, 400)


@pytest.mark.parametrize("series", ["YBR full", "Palette"])
def test_ybr_and_palette_colour_equal_reference(viewer, disc, series: str) -> None:  # type: ignore[no-untyped-def]
    open_series(viewer, series)
    assert_matches_reference(viewer, disc, series)
    img, _ = shown_image(viewer)
    assert (img[..., 0] != img[..., 1]).any()  # really colour


def test_enhanced_ct_uses_per_frame_rescale_window_and_spacing(viewer, disc) -> None:  # type: ignore[no-untyped-def]
    open_series(viewer, "Enhanced CT")
    assert viewer.evaluate("DV.debug.state().count") == 3
    for frame, (c, w) in enumerate([(200, 1000), (250, 1250), (300, 1500)]):
        viewer.wait_for_function(f"DV.shown.frame === {frame} && DV.shown.ww === {w}")
        assert_matches_reference(viewer, disc, "Enhanced CT")
        assert_matches_reference(viewer, disc, "Enhanced CT", c, w)
        viewer.keyboard.press("ArrowDown")
    viewer.click("[data-tool=measure]")
    a = viewer.evaluate("DV.debug.toClient(2, 2)")
    b = viewer.evaluate("DV.debug.toClient(12, 2)")  # 10 pixels of 0.7 mm
    viewer.mouse.move(*a)
    viewer.mouse.down()
    viewer.mouse.move(*b)
    viewer.mouse.up()
    assert abs(float(viewer.locator(".mlabel").inner_text().split()[0]) - 7.0) <= 0.2


def test_touch_scrolls_and_pinch_zooms(chromium, disc) -> None:  # type: ignore[no-untyped-def]
    context = chromium.new_context(locale="en-US", viewport={"width": 800, "height": 700}, has_touch=True)
    page = context.new_page()
    try:
        page.goto((disc["root"] / "VIEWER" / "INDEX.HTM").as_uri())
        page.wait_for_function("window.DV && DV.shown")
        cdp = context.new_cdp_session(page)
        box = page.locator("#view").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 3

        def touch(kind: str, points: list[tuple[float, float]]) -> None:
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": px, "y": py, "id": i} for i, (px, py) in enumerate(points)]})

        touch("touchStart", [(x, y)])
        for step in range(1, 11):
            touch("touchMove", [(x, y + 6 * step)])
        touch("touchEnd", [])
        page.wait_for_function("DV.shown.frame >= 5")
        zoom = page.evaluate("DV.debug.state().zoom")
        touch("touchStart", [(x - 20, y), (x + 20, y)])
        for step in range(1, 6):
            touch("touchMove", [(x - 20 - 10 * step, y), (x + 20 + 10 * step, y)])
        touch("touchEnd", [])
        assert page.evaluate("DV.debug.state().zoom") > zoom * 1.5
    finally:
        context.close()


def test_root_index_link_opens_viewer(chromium, disc) -> None:  # type: ignore[no-untyped-def]
    """The disc's root INDEX.HTM (written by the media engine) links to result.start_page."""
    assert disc["result"].start_page == "VIEWER/INDEX.HTM"
    context = chromium.new_context(locale="es-ES")
    page = context.new_page()
    try:
        page.goto((disc["root"] / "INDEX.HTM").as_uri())
        page.click("text=View the images")
        page.wait_for_function("window.DV && DV.shown")
        assert page.url.endswith("/VIEWER/INDEX.HTM")
        assert page.locator("[data-tool=measure]").inner_text() == "Medir"
    finally:
        context.close()
