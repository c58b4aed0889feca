"""The disc label as a PDF page of the disc's size (reportlab), fonts embedded."""
from __future__ import annotations

from pathlib import Path

from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from publisher.labels import fonts
from publisher.labels.content import LabelContent, format_person_name
from publisher.labels.layout import PlacedImage, PlacedText, layout
from publisher.labels.template import LabelTemplate


def render_pdf(content: LabelContent, tpl: LabelTemplate, out: Path, *,
               guides: bool = False) -> Path:
    """Write the label of ``content`` to ``out`` (a square page of the disc's diameter).

    ``guides`` draws the disc edge and the hub hole in grey, for proofs only.
    """
    geo = tpl.geometry
    side = geo.diameter_mm * mm
    base = fonts.load(fonts.chain("regular")[0])
    canvas = Canvas(str(out), pagesize=(side, side), pageCompression=1,
                    initialFontName=base.fontName, initialFontSize=9)
    canvas.setTitle(f"Disc label {content.disc_number}/{content.disc_count}")
    canvas.setSubject(", ".join(format_person_name(p.name) for p in content.patients))
    canvas.setCreator("publisher.labels")
    canvas.translate(side / 2, side / 2)
    if tpl.clip_to_ring:
        ring = canvas.beginPath()
        ring.circle(0, 0, geo.print_outer_mm / 2 * mm)
        ring.circle(0, 0, geo.print_inner_mm / 2 * mm)
        canvas.clipPath(ring, stroke=0, fill=0, fillMode=1)  # even-odd: the ring only
    color = HexColor(tpl.color)
    for item in layout(content, tpl):
        if isinstance(item, PlacedText):
            draw_text(canvas, item, color)
        else:
            draw_image(canvas, item)
    if guides:
        canvas.setStrokeGray(0.7)
        canvas.setLineWidth(0.2)
        canvas.circle(0, 0, geo.diameter_mm / 2 * mm)
        canvas.circle(0, 0, geo.hub_diameter_mm / 2 * mm)
    canvas.showPage()
    canvas.save()
    return out


def draw_text(canvas: Canvas, item: PlacedText, color: HexColor, x_mm: float = 0.0) -> None:
    """A line centred on ``x_mm``, one font per character run."""
    canvas.setFillColor(color)
    x = (x_mm - item.width_mm / 2) * mm
    for face, part in fonts.runs(item.text, item.style):
        canvas.setFont(face.name, item.size)
        canvas.drawString(x, item.baseline * mm, part)
        x += canvas.stringWidth(part, face.name, item.size)


def draw_image(canvas: Canvas, item: PlacedImage) -> None:
    """The logo, centred, fitting its box with its aspect ratio kept."""
    reader = ImageReader(str(item.path))
    iw, ih = reader.getSize()
    h = item.top - item.bottom
    w = min(item.width, h * iw / ih)
    h = w * ih / iw
    canvas.drawImage(reader, -w / 2 * mm, item.bottom * mm, w * mm, h * mm, mask="auto")
