"""Where each line of a disc label goes, in millimetres from the disc centre (y up).

Lines sit above the hub hole (``top``) or below it (``bottom``), centred, each
inside the printable ring: a line's width is limited by the outer circle at the
edge of its band farthest from the centre. A line that is too wide shrinks
(down to the template's ``min_size``), then wraps; a block that is too tall
scales all its sizes down. The same layout feeds the PDF and the raster.

Patients: each patient's name line is followed by that patient's ID line (when
the template shows both), so a name never parts from its ID. When the patients
do not all fit, the label shows as many as fit, in order, and a line "and N
more" pointing at the printed list (:mod:`publisher.labels.insert`). A label
that does not fit even so raises :class:`LabelDoesNotFit` (checked when a job
is planned, before anything is mastered).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from publisher.labels import fonts
from publisher.labels.content import LabelContent, format_date, format_person_name
from publisher.labels.template import LabelTemplate, LineStyle

PT_MM = 25.4 / 72.0
ASCENT = 0.95  # of the font size, covering accents on capitals in both fonts
DESCENT = 0.27
GAP = 0.12


@dataclass(frozen=True)
class PlacedText:
    """A centred text line: ``baseline`` in mm, ``size`` in points."""

    text: str
    size: float
    style: str
    baseline: float

    @property
    def width_mm(self) -> float:
        return fonts.text_width(self.text, self.size, self.style) * PT_MM

    @property
    def top(self) -> float:
        return self.baseline + ASCENT * self.size * PT_MM

    @property
    def bottom(self) -> float:
        return self.baseline - DESCENT * self.size * PT_MM


@dataclass(frozen=True)
class PlacedImage:
    """A centred image (the logo): its box in mm."""

    path: Path
    width: float
    top: float
    bottom: float


Placed = PlacedText | PlacedImage


def field_lines(field: str, content: LabelContent, tpl: LabelTemplate) -> list[str]:
    """The text lines of one template field (one per patient for patient fields)."""
    fmt = tpl.date_format
    if field == "institution":
        return [content.institution or tpl.institution]
    if field == "patient_names":
        return [format_person_name(p.name) for p in content.patients]
    if field == "patient_ids":
        out = []
        for p in content.patients:
            bits = [tpl.text("patient_id").format(id=p.patient_id) if p.patient_id else "",
                    tpl.text("born").format(date=format_date(p.birth_date, fmt))
                    if p.birth_date else ""]
            out.append("  ".join(b for b in bits if b))
        return out
    if field == "study_dates":
        return [", ".join(dict.fromkeys(format_date(d, fmt) for d in content.study_dates))]
    if field == "modalities":
        return [" / ".join(dict.fromkeys(content.modalities))]
    if field == "descriptions":
        return ["; ".join(dict.fromkeys(d for d in content.descriptions if d))]
    if field == "comment":
        return [content.comment]
    if field == "disc_of":
        return [tpl.text("disc_of").format(k=content.disc_number, n=content.disc_count)]
    if field == "content":
        return [content.content.value]
    if field == "created":
        return [tpl.text("created").format(date=content.created.strftime(fmt))]
    return []


def half_width(radius: float, top: float, bottom: float, margin: float) -> float:
    """Half the usable width of a band [bottom, top] inside a circle of ``radius``."""
    far = max(abs(top), abs(bottom))
    if far >= radius - margin:
        return 0.0
    return math.sqrt((radius - margin) ** 2 - far ** 2)


def wrap(text: str, size: float, style: str, width_mm: float) -> list[str]:
    """Greedy wrap at spaces; words (or CJK runs) longer than the width break per character."""
    def fits(s: str) -> bool:
        return fonts.text_width(s, size, style) * PT_MM <= width_mm

    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
            current = ""
        while word and not fits(word):
            cut = max(1, max(i for i in range(1, len(word) + 1) if fits(word[:i]) or i == 1))
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]


def ellipsize(text: str, size: float, style: str, width_mm: float) -> str:
    """Cut ``text`` and end it with an ellipsis so it fits ``width_mm``."""
    while text and fonts.text_width(text + "\u2026", size, style) * PT_MM > width_mm:
        text = text[:-1]
    return text + "\u2026"


class _Overflow(Exception):
    pass


class LabelDoesNotFit(ValueError):
    """The label's text does not fit on the disc even at the smallest size and with every
    patient but the "and N more" line moved to the printed list."""


def _stack(items: list[tuple[LineStyle, str | Path]], tpl: LabelTemplate, scale: float,
           start: float, limit: float, down: bool) -> list[Placed]:
    """Place items from ``start`` towards ``limit``; raise _Overflow when they do not fit."""
    geo = tpl.geometry
    radius = geo.print_outer_mm / 2
    margin = geo.margin_mm
    placed: list[Placed] = []
    cursor = start
    sequence = items if down else list(reversed(items))
    for style, value in sequence:
        if isinstance(value, Path):
            h = style.height_mm * scale
            top, bottom = (cursor, cursor - h) if down else (cursor + h, cursor)
            w = 2 * half_width(radius, top, bottom, margin)
            placed.append(PlacedImage(value, w, top, bottom))
            cursor = bottom - GAP * 8 * PT_MM if down else top + GAP * 8 * PT_MM
            continue
        lines = _fit(value, style, tpl, scale, cursor, down)
        for text, size in (lines if down else reversed(lines)):
            asc, desc = ASCENT * size * PT_MM, DESCENT * size * PT_MM
            baseline = cursor - asc if down else cursor + desc
            placed.append(PlacedText(text, size, style.style, baseline))
            cursor = (baseline - desc - GAP * size * PT_MM if down
                      else baseline + asc + GAP * size * PT_MM)
        if (down and cursor < limit) or (not down and cursor > limit):
            raise _Overflow
    if (down and cursor < limit - 1e-9) or (not down and cursor > limit + 1e-9):
        raise _Overflow
    return placed if down else list(reversed(placed))


def _fit(text: str, style: LineStyle, tpl: LabelTemplate, scale: float, cursor: float,
         down: bool) -> list[tuple[str, float]]:
    """Shrink, then wrap, one field's text for a band starting at ``cursor``."""
    radius = tpl.geometry.print_outer_mm / 2
    margin = tpl.geometry.margin_mm
    size = max(tpl.min_size, style.size * scale)

    def avail(sz: float, nth: int) -> float:
        h = (ASCENT + DESCENT + GAP) * sz * PT_MM
        if down:
            top = cursor - nth * h
            bottom = top - (ASCENT + DESCENT) * sz * PT_MM
        else:
            bottom = cursor + nth * h
            top = bottom + (ASCENT + DESCENT) * sz * PT_MM
        return 2 * half_width(radius, top, bottom, margin)

    width = fonts.text_width(text, size, style.style) * PT_MM
    while width > avail(size, 0) and size > tpl.min_size:
        size = max(tpl.min_size, size * 0.93)
        width = fonts.text_width(text, size, style.style) * PT_MM
    if width <= avail(size, 0):
        return [(text, size)]
    # wrap at the narrowest band the wrapped lines may reach
    worst = min(avail(size, i) for i in range(style.max_lines))
    lines = wrap(text, size, style.style, worst)
    if len(lines) > style.max_lines:
        rest = " ".join(lines[style.max_lines - 1:])
        lines = lines[: style.max_lines - 1] + [ellipsize(rest, size, style.style, worst)]
    return [(line, size) for line in lines]


_PATIENT_FIELDS = ("patient_names", "patient_ids")


def _items(fields: tuple[LineStyle, ...], content: LabelContent,
           tpl: LabelTemplate, shown: int | None = None) -> list[tuple[LineStyle, str | Path]]:
    """The block's lines; ``shown`` patients (all when None), then "and N more" for the rest."""
    out: list[tuple[LineStyle, str | Path]] = []
    patients = content.patients if shown is None else content.patients[:shown]
    styles = {s.field: s for s in fields if s.field in _PATIENT_FIELDS}
    for style in fields:
        if style.field == "logo":
            logo = content.logo or tpl.logo
            if logo is not None and Path(logo).is_file():
                out.append((style, Path(logo)))
            continue
        if style.field in _PATIENT_FIELDS:
            if style.field != next(f for f in _PATIENT_FIELDS if f in styles):
                continue  # the pair is written at the first of the two fields
            one = LabelContent(patients=patients)
            pairs = [field_lines(f, one, tpl) for f in _PATIENT_FIELDS if f in styles]
            keys = [f for f in _PATIENT_FIELDS if f in styles]
            for k in range(len(patients)):
                out.extend((styles[f], lines[k]) for f, lines in zip(keys, pairs) if lines[k])
            hidden = len(content.patients) - len(patients)
            if hidden:
                out.append((styles[keys[-1]], tpl.text("more").format(n=hidden)))
            continue
        out.extend((style, line) for line in field_lines(style.field, content, tpl) if line)
    return out


def shown_patients(content: LabelContent, tpl: LabelTemplate) -> int:
    """How many patients the label names before "and N more" (all of them when they fit)."""
    for block, above in ((tpl.top, True), (tpl.bottom, False)):
        if any(s.field in _PATIENT_FIELDS for s in block):
            return _fitting(block, content, tpl, above)[0]
    return len(content.patients)


def _fitting(block: tuple[LineStyle, ...], content: LabelContent, tpl: LabelTemplate,
             above: bool) -> tuple[int, list[Placed]]:
    """The most patients (in order) whose lines fit in ``block``, and the block placed."""
    counts: list[int | None] = [None] if not any(s.field in _PATIENT_FIELDS for s in block) else \
        [None] + list(range(len(content.patients) - 1, -1, -1))
    for count in counts:
        try:
            placed = _block(_items(block, content, tpl, count), tpl, above)
        except _Overflow:
            continue
        return (len(content.patients) if count is None else count), placed
    raise LabelDoesNotFit("label text does not fit on the disc even at minimum size "
                          f"(template {tpl.name}: shorten the comment or the template's lines)")


def _block(items: list[tuple[LineStyle, str | Path]], tpl: LabelTemplate,
           above: bool) -> list[Placed]:
    """Lay a block out hugging the hub, then move it outwards to centre it if it still fits."""
    if not items:
        return []
    geo = tpl.geometry
    inner = geo.print_inner_mm / 2 + geo.margin_mm
    outer = geo.print_outer_mm / 2 - geo.margin_mm
    scale = 1.0
    while True:
        try:
            if above:
                placed = _stack(items, tpl, scale, inner, outer, down=False)
            else:
                placed = _stack(items, tpl, scale, -inner, -outer, down=True)
            break
        except _Overflow:
            if scale < 0.2:
                raise
            scale *= 0.9
    return _centre(placed, tpl, above, inner, outer)


def _centre(placed: list[Placed], tpl: LabelTemplate, above: bool, inner: float,
            outer: float) -> list[Placed]:
    extent = max(abs(p.top) for p in placed) if above else max(abs(p.bottom) for p in placed)
    free = outer - extent
    for share in (0.5, 0.35, 0.2, 0.1, 0.0):
        shift = free * share * (1 if above else -1)
        moved = [_shift(p, shift) for p in placed]
        if all(_inside(p, tpl) for p in moved):
            return moved
    return placed


def _shift(p: Placed, dy: float) -> Placed:
    if isinstance(p, PlacedText):
        return PlacedText(p.text, p.size, p.style, p.baseline + dy)
    return PlacedImage(p.path, p.width, p.top + dy, p.bottom + dy)


def _inside(p: Placed, tpl: LabelTemplate) -> bool:
    geo = tpl.geometry
    w = 2 * half_width(geo.print_outer_mm / 2, p.top, p.bottom, geo.margin_mm)
    need = p.width_mm if isinstance(p, PlacedText) else 0.0
    return need <= w + 1e-6


def layout(content: LabelContent, tpl: LabelTemplate) -> list[Placed]:
    """Every line and image of the label, placed inside the printable ring."""
    return _fitting(tpl.top, content, tpl, True)[1] + _fitting(tpl.bottom, content, tpl, False)[1]
