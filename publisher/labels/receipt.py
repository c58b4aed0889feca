"""The front desk's hand-over receipt: an A4 PDF (reportlab) naming the audit number of the
hand-over, the discs, whose images they hold, who took them and who handed them over, with
lines to sign. Plain content in, a file out; every name in any script (the label fonts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from publisher.labels import fonts
from publisher.labels.content import format_person_name


@dataclass(frozen=True)
class Receipt:
    """What a receipt says; ``audit_number`` is the id of the hand-over's audit event."""

    audit_number: int
    when: str
    job: int
    discs: Sequence[str]
    patients: Sequence[tuple[str, str]]  # (ID, DICOM PN)
    recipient: str
    relation: str
    id_checked: bool
    handed_by: str
    institution: str = ""
    note: str = ""


def _line(canvas: Canvas, x: float, y: float, text: str, size: float = 11, style: str = "regular") -> None:
    """One line, one font per character run (as the disc label draws its text)."""
    for face, part in fonts.runs(text, style):
        canvas.setFont(face.name, size)
        canvas.drawString(x, y, part)
        x += canvas.stringWidth(part, face.name, size)


def render_receipt(r: Receipt, out: Path) -> Path:
    """Write the receipt to ``out`` (one A4 page) and return it."""
    width, height = A4
    base = fonts.load(fonts.chain("regular")[0])
    canvas = Canvas(str(out), pagesize=A4, initialFontName=base.fontName, initialFontSize=11)
    canvas.setTitle(f"Hand-over receipt {r.audit_number}")
    canvas.setCreator("publisher.labels")
    x, y = 20 * mm, height - 25 * mm
    rows: list[tuple[str, float, str]] = [
        (r.institution, 12, "regular"),
        ("Receipt for medical image discs", 16, "bold"),
        (f"Audit number: {r.audit_number}", 13, "bold"),
        (f"Handed over: {r.when}", 11, "regular"),
        (f"Disc job: {r.job}", 11, "regular"),
        ("", 11, "regular"),
        ("Images of:", 11, "bold"),
        *[(f"  {format_person_name(name)} (patient ID {pid})", 11, "regular") for pid, name in r.patients],
        ("Discs:", 11, "bold"),
        *[(f"  {d}", 11, "regular") for d in r.discs],
        ("", 11, "regular"),
        (f"Taken by: {r.recipient} ({r.relation})", 11, "regular"),
        (f"Identity document checked: {'yes' if r.id_checked else 'no'}", 11, "regular"),
        (f"Handed over by: {r.handed_by}", 11, "regular"),
        *([(f"Note: {r.note}", 11, "regular")] if r.note else []),
    ]
    for text, size, style in rows:
        if text:
            _line(canvas, x, y, text, size, style)
        y -= size * 0.5 * mm + 3 * mm
    y -= 15 * mm
    for who in ("Signature of the person taking the discs", "Signature of the front desk"):
        canvas.line(x, y, x + 80 * mm, y)
        _line(canvas, x, y - 5 * mm, who, 9)
        y -= 25 * mm
    canvas.showPage()
    canvas.save()
    return out
