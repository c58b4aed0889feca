"""The case insert: a printed list of every patient on a disc, for labels that say "and N more".

A jewel case insert is 120 x 120 mm (the front of a CD/DVD/BD case, IEC 60908's disc size plus
its case); the list runs over as many pages as it needs, each patient's name, ID and birth date
on one line so they never part, followed by what the disc holds. Fonts are the label's
(:mod:`publisher.labels.fonts`), so every script the label prints prints here too.
"""
from __future__ import annotations

from pathlib import Path

from reportlab.lib.colors import HexColor
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from publisher.labels import fonts
from publisher.labels.content import LabelContent, format_date, format_person_name
from publisher.labels.layout import PT_MM, PlacedText, wrap
from publisher.labels.pdf import draw_text
from publisher.labels.template import LabelTemplate

PAGE_MM = 120.0
MARGIN_MM = 8.0
SIZE = 8.0  #: points, body lines
TITLE = 10.0


def insert_lines(content: LabelContent, tpl: LabelTemplate) -> list[tuple[str, float, str]]:
    """(text, size, style) of each line of the list, before wrapping."""
    fmt = tpl.date_format
    head = f"{content.institution or tpl.institution}".strip()
    lines: list[tuple[str, float, str]] = []
    if head:
        lines.append((head, TITLE, "bold"))
    lines.append((tpl.text("disc_of").format(k=content.disc_number, n=content.disc_count)
                  + f" - {len(content.patients)} patient(s)", TITLE, "bold"))
    lines.append(("", SIZE, "regular"))
    for n, p in enumerate(content.patients, start=1):
        bits = [f"{n}. {format_person_name(p.name)}"]
        if p.patient_id:
            bits.append(tpl.text("patient_id").format(id=p.patient_id))
        if p.birth_date:
            bits.append(tpl.text("born").format(date=format_date(p.birth_date, fmt)))
        lines.append(("  ".join(bits), SIZE, "regular"))
    lines.append(("", SIZE, "regular"))
    dates = ", ".join(dict.fromkeys(format_date(d, fmt) for d in content.study_dates))
    for text in (dates, " / ".join(dict.fromkeys(content.modalities)),
                 "; ".join(dict.fromkeys(d for d in content.descriptions if d)), content.comment,
                 content.content.value, tpl.text("created").format(date=content.created.strftime(fmt))):
        if text:
            lines.append((text, SIZE, "regular"))
    return lines


def render_insert_pdf(content: LabelContent, tpl: LabelTemplate, out: Path) -> Path:
    """Write the case insert of ``content`` to ``out``: 120 x 120 mm pages, fonts embedded."""
    side = PAGE_MM * mm
    width = PAGE_MM - 2 * MARGIN_MM
    canvas = Canvas(str(out), pagesize=(side, side), pageCompression=1)
    canvas.setTitle(f"Patients on disc {content.disc_number}/{content.disc_count}")
    canvas.setCreator("publisher.labels")
    color = HexColor(tpl.color)
    canvas.translate(side / 2, 0)  # draw_text centres on x = 0; lines are laid from the left below
    y = PAGE_MM - MARGIN_MM
    for text, size, style in insert_lines(content, tpl):
        height = size * PT_MM * 1.3
        for part in wrap(text, size, style, width) if text else [""]:
            if y - height < MARGIN_MM:
                canvas.showPage()
                canvas.translate(side / 2, 0)
                y = PAGE_MM - MARGIN_MM
            y -= height
            if part:
                shift = (fonts.text_width(part, size, style) * PT_MM - width) / 2  # left-aligned
                draw_text(canvas, PlacedText(part, size, style, y), color, x_mm=shift)
    canvas.showPage()
    canvas.save()
    return out
