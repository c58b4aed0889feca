"""The disc label as a raster image at the printer's resolution (what disc printers take).

Drawn with Pillow from the same layout and the same TrueType files as the PDF.
White is "no ink"; with ``clip_to_ring`` everything outside the printable ring
is forced to white.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from publisher.labels import fonts
from publisher.labels.content import LabelContent
from publisher.labels.layout import PT_MM, PlacedImage, PlacedText, layout
from publisher.labels.template import LabelTemplate

MM_IN = 25.4


def render_image(content: LabelContent, tpl: LabelTemplate, dpi: int | None = None) -> Image.Image:
    """The label as an RGB image, ``dpi`` (default: the template's printer DPI)."""
    dpi = dpi or tpl.printer_dpi
    geo = tpl.geometry
    px = round(geo.diameter_mm / MM_IN * dpi)
    img = Image.new("RGB", (px, px), "white")
    draw = ImageDraw.Draw(img)
    scale = dpi / MM_IN  # px per mm
    centre = px / 2

    def to_px(x_mm: float, y_mm: float) -> tuple[float, float]:
        return centre + x_mm * scale, centre - y_mm * scale

    for item in layout(content, tpl):
        if isinstance(item, PlacedText):
            x = -item.width_mm / 2
            for face, part in fonts.runs(item.text, item.style):
                font = _font(str(fonts.font_file(face)), round(item.size * PT_MM * scale))
                draw.text(to_px(x, item.baseline), part, font=font, fill=tpl.color, anchor="ls")
                x += fonts.text_width(part, item.size, item.style) * PT_MM
        else:
            _paste_logo(img, item, to_px, scale)
    if tpl.clip_to_ring:
        img.paste("white", mask=outside_ring_mask(tpl, px, dpi))
    return img


def render_png(content: LabelContent, tpl: LabelTemplate, out: Path,
               dpi: int | None = None) -> Path:
    """Write the raster label to ``out`` (PNG, with its DPI recorded)."""
    dpi = dpi or tpl.printer_dpi
    render_image(content, tpl, dpi).save(out, dpi=(dpi, dpi))
    return out


def outside_ring_mask(tpl: LabelTemplate, px: int, dpi: int) -> Image.Image:
    """An L mask, 255 where no ink may go (outside the ring or inside its hole)."""
    geo = tpl.geometry
    scale = dpi / MM_IN
    c = px / 2
    mask = Image.new("L", (px, px), 255)
    d = ImageDraw.Draw(mask)
    r_out = geo.print_outer_mm / 2 * scale
    r_in = geo.print_inner_mm / 2 * scale
    d.ellipse((c - r_out, c - r_out, c + r_out, c + r_out), fill=0)
    d.ellipse((c - r_in, c - r_in, c + r_in, c + r_in), fill=255)
    return mask


_FONTS: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def _font(path: str, size_px: int) -> ImageFont.FreeTypeFont:
    key = (path, max(1, size_px))
    if key not in _FONTS:
        _FONTS[key] = ImageFont.truetype(path, key[1])
    return _FONTS[key]


def _paste_logo(img: Image.Image, item: PlacedImage, to_px, scale: float) -> None:  # type: ignore[no-untyped-def]
    logo = Image.open(item.path).convert("RGBA")
    h = item.top - item.bottom
    w = min(item.width, h * logo.width / logo.height)
    h = w * logo.height / logo.width
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    logo = logo.resize(size)
    x, y = to_px(-w / 2, item.bottom + h)
    img.paste(logo, (round(x), round(y)), logo)
