"""Searching the index with DICOM matching rules (PS3.4 C.2.2.2).

Wildcard matching (C.2.2.2.4): ``*`` matches any sequence of characters, ``?`` one character.
Person names are matched case-insensitively on their decoded, case-folded form, so a query
typed in UTF-8 finds a name that arrived in ISO_IR 100 and the other way round.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from publisher.archive.metadata import normalise_name
from publisher.db.models import Patient

_ESCAPE = "!"


def wildcard_to_like(pattern: str) -> str:
    """A DICOM wildcard pattern as an SQL LIKE pattern escaped with ``!``."""
    out = []
    for ch in pattern:
        if ch in "%_!":
            out.append(_ESCAPE + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


def match(column: ColumnElement[str], pattern: str) -> ColumnElement[bool] | None:
    """Single value or wildcard matching of ``column``; None for universal matching."""
    if pattern in ("", "*"):
        return None
    if "*" in pattern or "?" in pattern:
        return column.like(wildcard_to_like(pattern), escape=_ESCAPE)
    return column == pattern


def find_patients(session: Session, name: str = "", patient_id: str = "") -> list[Patient]:
    """Patients whose name and ID match the (wildcard) patterns."""
    stmt = select(Patient)
    cond = match(Patient.patient_name_norm, normalise_name(name))
    if cond is not None:
        stmt = stmt.where(cond)
    cond = match(Patient.patient_id, patient_id)
    if cond is not None:
        stmt = stmt.where(cond)
    return list(session.scalars(stmt.order_by(Patient.patient_name_norm)))
