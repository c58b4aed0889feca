"""The viewer's essentials in Firefox and WebKit (Safari's engine), from the extracted disc.

Same disc as the Chromium tests (``disc`` fixture: mastered to ISO 9660, extracted, opened by
``file://`` with default settings). Firefox ESR is driven over WebDriver BiDi and WebKitGTK's
MiniBrowser over W3C WebDriver (tests/support/browsers.py); input is real WebDriver input
(pointer clicks, wheel, keys), not synthetic DOM events. A missing browser skips locally and
fails under CI=true.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread

from tests.support.tools import unavailable
from tests.support.browsers import Browser, BrowserUnavailable, launch
from tests.support.viewer import source_of
from viewer_bundle import render_reference

pytestmark = [pytest.mark.interop]

NAMES = ["Müller, Jürgen", "Иванова, Мария", "山田, 太郎"]  # ISO_IR 100, ISO_IR 192, ISO 2022 IR 87


@pytest.fixture(scope="module", params=["firefox", "webkit"])
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """One browser per engine for this module; on teardown nothing started for it is left."""
    try:
        b = launch(request.param)
    except BrowserUnavailable as exc:
        unavailable(str(exc))
    yield b
    b.quit()
    assert b.process_ids() == [], f"{request.param}: processes left after quit"


@pytest.fixture
def page(browser: Browser, disc: dict[str, Any]) -> Iterator[Browser]:
    """``browser`` on a fresh load of the disc's VIEWER/INDEX.HTM, first image shown."""
    browser.errors.clear()
    browser.navigate((disc["root"] / "VIEWER" / "INDEX.HTM").as_uri())
    browser.wait_for("!!(window.DV && DV.shown)")
    yield browser
    assert not browser.errors, browser.errors


def js(value: str) -> str:
    """A JavaScript string literal."""
    return json.dumps(value)


def click(b: Browser, element: str) -> None:
    """Click the element (a JavaScript expression) with the pointer, as a user does."""
    x, y = b.evaluate(
        f"(() => {{ const e = {element}; e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();"
        " return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)]; })()"
    )
    b.perform_actions([{
        "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
        "actions": [
            {"type": "pointerMove", "x": x, "y": y, "origin": "viewport", "duration": 0},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ],
    }])


def series(text: str) -> str:
    return f"Array.from(document.querySelectorAll('button.series')).find(b => b.textContent.includes({js(text)}))"


def open_series(b: Browser, text: str) -> str:
    key = str(b.evaluate(f"{series(text)}.getAttribute('data-key')"))
    click(b, series(text))
    b.wait_for(f"!!(DV.shown && DV.shown.key === {js(key)} || !document.getElementById('doc').hidden)")
    return key


def press(b: Browser, key: str) -> None:
    b.perform_actions([{"type": "key", "id": "keyboard", "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}])


END, ARROW_UP = "\ue010", "\ue013"  # WebDriver key codes


def assert_equals_reference(b: Browser, disc: dict[str, Any], description: str, center: float | None = None, width: float | None = None) -> dict[str, Any]:
    """The shown frame (drawn from ImageData) equals render_reference exactly, every pixel."""
    snap = b.evaluate("DV.debug.snapshot()")
    state = snap["state"]
    img = np.array(snap["data"], dtype=np.int16).reshape(snap["h"], snap["w"], 4)
    if center is None:
        center, width = state["wc"], state["ww"]
    ref = render_reference(source_of(disc, description, state["n"]), state["f"] - 1, center, width).astype(np.int16)
    if ref.ndim == 2:
        assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()
        got = img[..., 0]
    else:
        got = img[..., :3]
    assert got.shape == ref.shape
    diff = np.abs(got - ref)
    assert diff.max() == 0, f"{b.name}: {int((diff > 0).sum())} pixels differ, max {diff.max()} at {np.unravel_index(diff.argmax(), diff.shape)}"
    assert (img[..., 3] == 255).all()
    return dict(state)


def test_opens_from_file_and_first_image_equals_reference(page: Browser, disc: dict[str, Any], tmp_path: Path) -> None:
    assert page.evaluate("typeof DecompressionStream") == "function", f"{page.name} {page.version}"
    assert page.evaluate("document.getElementById('msg').textContent") == ""
    assert page.evaluate("DV.debug.state().lang") == "en"
    state = assert_equals_reference(page, disc, "Axial 2mm", 40, 400)  # the first series, its own window
    assert (state["frame"], state["wc"], state["ww"]) == (0, 40, 400)
    assert "Image 1 / 24" in page.evaluate("document.getElementById('ov-bl').textContent")
    # the visible canvas shows it (not black)
    lit = page.evaluate(
        "(() => { const c = document.getElementById('view'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 20) n++; return n / (d.length / 4); })()"
    )
    assert lit > 0.2
    # and so does the browser's own screenshot of the page
    png = page.screenshot()
    (tmp_path / f"{page.name}.png").write_bytes(png)
    shot = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    left, top, w, h = page.evaluate("(() => { const r = document.getElementById('view').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()")
    region = shot[int(top) : int(top + h), int(left) : int(left + w)]
    assert region.size and (region > 20).mean() > 0.2, f"{page.name} screenshot {shot.shape}: canvas region dark"


def test_scrolling_shows_next_images(page: Browser, disc: dict[str, Any]) -> None:
    open_series(page, "Axial 2mm")
    first = page.evaluate("DV.debug.snapshot().data")
    x, y = page.evaluate("(() => { const r = document.getElementById('view').getBoundingClientRect(); return [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)]; })()")
    page.perform_actions([{
        "type": "wheel", "id": "wheel",
        "actions": [{"type": "scroll", "x": x, "y": y, "deltaX": 0, "deltaY": 120, "origin": "viewport", "duration": 0}],
    }])
    page.wait_for("DV.shown.frame >= 1")
    state = assert_equals_reference(page, disc, "Axial 2mm")
    assert state["n"] == state["frame"] + 1 > 1
    assert page.evaluate("DV.debug.snapshot().data") != first
    press(page, END)  # across chunk files (10 frames each on this disc)
    page.wait_for("DV.shown.frame === 23")
    assert "Image 24 / 24" in page.evaluate("document.getElementById('ov-bl').textContent")
    assert_equals_reference(page, disc, "Axial 2mm")
    press(page, ARROW_UP)
    page.wait_for("DV.shown.frame === 22")
    assert_equals_reference(page, disc, "Axial 2mm")


def test_study_list_shows_non_ascii_names(page: Browser) -> None:
    names = page.evaluate("Array.from(document.querySelectorAll('.pname')).map(e => e.textContent)")
    for name in NAMES:
        assert name in names, (page.name, names)
    assert "CT Schädel nativ" in page.evaluate("document.getElementById('browser').textContent")


def test_sr_opens_as_text(page: Browser) -> None:
    click(page, series("SR 90"))
    page.wait_for("!document.getElementById('doc').hidden")
    text = page.evaluate("document.getElementById('doc').innerText")
    assert "Radiology Report" in text
    assert "Finding: No acute abnormality. Patient Müller Jürgen." in text
    assert "Completion: COMPLETE" in text


def test_pdf_opens(page: Browser, disc: dict[str, Any]) -> None:
    click(page, series("DOC 91"))
    src = page.wait_for("(document.querySelector('#doc iframe') || {}).getAttribute && document.querySelector('#doc iframe').getAttribute('src')")
    assert re.fullmatch(r"DATA/S\d{7}/D\d{7}\.PDF", src)
    pdfs = [i.source for p in disc["content"].patients for st in p.studies for se in st.series for i in se.instances if se.modality == "DOC"]
    ds = dcmread(pdfs[0])
    assert (disc["root"] / "VIEWER" / src).read_bytes() == bytes(ds.EncapsulatedDocument)[: int(ds.EncapsulatedDocumentLength)]
    assert page.evaluate("document.querySelector('#doc a').getAttribute('href')") == src
    assert "Иванова, Мария" in page.evaluate("document.getElementById('doc').textContent")
    # the frame really loaded the PDF file (not a blank or an error page)
    target = (disc["root"] / "VIEWER" / src).as_uri()
    urls: list[str] = []
    for _ in range(100):
        urls = page.frame_urls()
        if target in urls:
            break
        page.evaluate("new Promise(r => setTimeout(r, 100))")
    assert target in urls, (page.name, urls)


def test_toolbar_selects_are_readable(page: Browser) -> None:
    """Native select boxes get the dark theme (WebKitGTK drew them white under light text).

    The preset box is filled once a series is shown, so the test waits for text in both boxes
    and then polls screenshots until they are painted (a loaded machine paints late)."""
    boxes = ("#lang", "#preset")
    page.wait_for(" && ".join(f"(document.querySelector({js(sel)}).selectedOptions[0] || {{}}).text" for sel in boxes))
    for sel in boxes:
        assert page.evaluate(f"document.querySelector({js(sel)}).disabled") is False
    deadline = time.monotonic() + 20
    while True:
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("L")).astype(float)
        seen = []
        for sel in boxes:
            left, top, w, h = page.evaluate(f"(() => {{ const r = document.querySelector({js(sel)}).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }})()")
            box = shot[int(top) + 3 : int(top + h) - 3, int(left) + 3 : int(left + w) - 3]
            seen.append((sel, float(np.median(box)), float(box.max())))
        # light text (#eee) on a dark box: the box is mostly dark and the text stands out
        if all(median < 100 and top_ - median > 100 for _sel, median, top_ in seen) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for sel, median, brightest in seen:
        assert median < 100 and brightest - median > 100, (page.name, sel, median, brightest)
