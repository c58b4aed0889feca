"""What a disc label says: plain data filled in by jobs (or by an import of a foreign disc)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path


class PdiContent(str, enum.Enum):
    """IHE PDI (ITI TF-1 15.4.1.1): the label says whether a viewer / web content is on the disc."""

    DICOM_ONLY = "DICOM ONLY"
    DICOM_PLUS_WEB = "DICOM PLUS WEB"


@dataclass(frozen=True)
class Patient:
    """A patient on the disc; ``name`` is a DICOM PN or plain text."""

    name: str
    patient_id: str = ""
    birth_date: date | str | None = None  # date or DICOM DA (YYYYMMDD)


@dataclass(frozen=True)
class LabelContent:
    """Everything printed on one disc's label."""

    patients: tuple[Patient, ...]
    institution: str = ""
    study_dates: tuple[date | str, ...] = ()
    modalities: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()
    comment: str = ""
    disc_number: int = 1
    disc_count: int = 1
    created: datetime = field(default_factory=datetime.now)
    content: PdiContent = PdiContent.DICOM_PLUS_WEB
    logo: Path | None = None  # overrides the template's logo


def format_person_name(pn: str) -> str:
    """A DICOM PN (PS3.5 6.2) for people: ``Family^Given^Middle^Prefix^Suffix``.

    Component groups (alphabetic ``=`` ideographic ``=`` phonetic) are shown as
    ``ALPHABETIC (IDEOGRAPHIC)``; a name without ``^`` or ``=`` is returned as is.
    """
    groups = [g for g in pn.split("=")]
    shown = [_one_group(g) for g in groups[:2] if g.strip("^ ")]
    if not shown:
        return pn.strip()
    if len(shown) == 2:
        return f"{shown[0]} ({shown[1]})"
    return shown[0]


def _one_group(group: str) -> str:
    if "^" not in group:
        return group.strip()
    parts = [p.strip() for p in group.split("^")] + [""] * 5
    family, given, middle, prefix, suffix = parts[:5]
    rest = " ".join(p for p in (prefix, given, middle) if p)
    if _is_cjk(group):  # ideographic names: family name first, no comma
        return " ".join(p for p in (family, rest, suffix) if p)
    name = f"{family}, {rest}" if family and rest else family or rest
    return f"{name} {suffix}".strip()


def format_date(value: date | str | None, fmt: str) -> str:
    """A date or DICOM DA (``YYYYMMDD``) in the template's format; other text as is."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.strptime(value.strip(), "%Y%m%d").date()
        except ValueError:
            return str(value)
    return value.strftime(fmt)


def _is_cjk(text: str) -> bool:
    """True when ``text`` holds Han, Kana or Hangul characters."""
    return any(0x2E80 <= ord(c) <= 0x9FFF or 0xAC00 <= ord(c) <= 0xD7AF or
               0xF900 <= ord(c) <= 0xFAFF for c in text)
