"""Acceptance 4: label PDFs with Latin-1, Cyrillic and CJK names (found by pdftotext) and a
raster with no ink outside the printable ring (checked pixel by pixel)."""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from publisher.labels import (
    LabelContent,
    Patient,
    format_person_name,
    load_template,
    render_image,
    render_pdf,
    render_png,
    template_from_dict,
)
from publisher.labels.example import render_example
from publisher.labels.fonts import FontFace, FontNotFound, find_font_file
from publisher.labels.layout import PlacedText, layout
from tests.support.tools import require_tool

NAMES = {
    "latin1": ("Müller^Zoë-Françoise", "Müller, Zoë-Françoise"),
    "cyrillic": ("Иванов^Пётр", "Иванов, Пётр"),
    "cjk": ("山田^太郎", "山田 太郎"),
}




def content_for(pn: str, **kw: object) -> LabelContent:
    kw.setdefault("comment", "Vergleich")
    return LabelContent(patients=(Patient(pn, "PID-42", date(1970, 1, 31)),),
                        study_dates=("20240105",), modalities=("CT", "MR"),
                        descriptions=("CT Thorax",), **kw)  # type: ignore[arg-type]


def unclipped(dpi: int = 150):  # type: ignore[no-untyped-def]
    """The default template without the safety clip, so the layout itself is tested."""
    return dataclasses.replace(load_template(), clip_to_ring=False, printer_dpi=dpi)


def ink_outside_ring(img: Image.Image, tpl, dpi: int) -> int:  # type: ignore[no-untyped-def]
    """Number of non-white pixels outside the printable ring (or inside its hole)."""
    gray = np.asarray(img.convert("L"), dtype=np.int16)
    h, w = gray.shape
    yy, xx = np.mgrid[0:h, 0:w]
    px_mm = 25.4 / dpi
    r = np.hypot((xx + 0.5 - w / 2) * px_mm, (yy + 0.5 - h / 2) * px_mm)
    geo = tpl.geometry
    outside = (r > geo.print_outer_mm / 2) | (r < geo.print_inner_mm / 2)
    return int(((gray < 250) & outside).sum())


@pytest.mark.parametrize("script", sorted(NAMES))
def test_pdftotext_finds_the_name(script: str, tmp_path: Path) -> None:
    exe = require_tool("pdftotext")
    pn, shown = NAMES[script]
    pdf = render_pdf(content_for(pn), load_template(), tmp_path / f"{script}.pdf")
    text = subprocess.run([exe, "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert shown in text
    assert "DICOM PLUS WEB" in text and "Disc 1 of 1" in text and "PID-42" in text
    fonts_out = subprocess.run([shutil.which("pdffonts") or "pdffonts", str(pdf)],
                               capture_output=True, text=True).stdout
    for line in fonts_out.splitlines()[2:]:  # every font is embedded
        assert " yes " in line, line


@pytest.mark.parametrize("script", sorted(NAMES))
def test_our_raster_has_no_ink_outside_ring(script: str, tmp_path: Path) -> None:
    tpl = unclipped()
    img = render_image(content_for(NAMES[script][0]), tpl, 150)
    assert img.size == (709, 709)  # 120 mm at 150 dpi
    assert ink_outside_ring(img, tpl, 150) == 0
    assert (np.asarray(img.convert("L")) < 128).sum() > 1000  # and there is text


def test_pdf_rasterized_by_pdftoppm_has_no_ink_outside_ring(tmp_path: Path) -> None:
    exe = require_tool("pdftoppm")
    tpl = unclipped()
    long = LabelContent(patients=(Patient("Wolfeschlegelsteinhausenbergerdorff^Hubert Blaine "
                                          "Maximilian Alexander", "X" * 40, "19000101"),
                                  Patient("Иванов^Пётр"), Patient("山田^太郎")),
                        descriptions=("A very long study description " * 6,),
                        comment="Comment " * 30, institution="Institution " * 12)
    pdf = render_pdf(long, tpl, tmp_path / "long.pdf")
    subprocess.run([exe, "-r", "100", "-png", "-singlefile", str(pdf), str(tmp_path / "p")],
                   check=True)
    img = Image.open(tmp_path / "p.png")
    assert ink_outside_ring(img, tpl, 100) == 0


def test_long_text_shrinks_then_wraps_inside_ring() -> None:
    tpl = unclipped()
    short = layout(content_for("Doe^Jane", comment="short"), tpl)
    long = layout(content_for("Doe^Jane", comment="sehr lange Bemerkung " * 12), tpl)
    comment_short = [p for p in short if isinstance(p, PlacedText) and p.text == "short"]
    comment_long = [p for p in long if isinstance(p, PlacedText) and "Bemerkung" in p.text]
    assert len(comment_long) == 2  # wrapped on max_lines = 2, cut with an ellipsis
    assert comment_long[-1].text.endswith("\u2026")
    assert comment_long[0].size < comment_short[0].size  # shrunk first
    for p in long:
        if isinstance(p, PlacedText):
            assert p.size >= tpl.min_size


def test_clip_keeps_ink_inside_ring_even_for_a_tight_ring(tmp_path: Path) -> None:
    tpl = load_template()
    tight = dataclasses.replace(tpl, geometry=dataclasses.replace(
        tpl.geometry, print_outer_mm=100.0, print_inner_mm=40.0), printer_dpi=100)
    out = render_png(content_for("Müller^Zoë"), tight, tmp_path / "t.png")
    assert ink_outside_ring(Image.open(out), tight, 100) == 0
    assert Image.open(out).info["dpi"][0] == pytest.approx(100, abs=0.1)


def test_person_names_and_templates() -> None:
    assert format_person_name("Yamada^Tarou=山田^太郎=やまだ^たろう") == "Yamada, Tarou (山田 太郎)"
    assert format_person_name("Doe^John^^Dr.^Jr") == "Doe, Dr. John Jr"
    assert format_person_name("Plain Text") == "Plain Text"
    with pytest.raises(ValueError, match="unknown label field"):
        template_from_dict({"top": [{"field": "shoe_size"}]})
    with pytest.raises(ValueError, match="hub"):
        template_from_dict({"disc": {"print_inner_mm": 10.0}})


def test_missing_font_names_the_debian_package() -> None:
    with pytest.raises(FontNotFound, match="install the Debian package 'fonts-nowhere'"):
        find_font_file(FontFace("X", "NoSuchFont.ttf", "fonts-nowhere"))


def test_logo_and_example_render(tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    Image.new("RGB", (200, 80), "navy").save(logo)
    tpl = dataclasses.replace(unclipped(100), logo=logo)
    img = render_image(content_for("Doe^Jane"), tpl, 100)
    arr = np.asarray(img)
    navy = (arr[..., 2] > 100) & (arr[..., 0] < 30)
    assert navy.sum() > 100
    assert ink_outside_ring(img, tpl, 100) == 0
    pdf, png = render_example(tmp_path, dpi=100)
    assert pdf.stat().st_size > 1000 and Image.open(png).size == (472, 472)
