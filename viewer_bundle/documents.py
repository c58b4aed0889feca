"""Non-image objects the viewer shows: Structured Reports as text, encapsulated documents.

SR content trees (PS3.3 C.17.3) are flattened to rows ``(depth, concept name, value)`` the
browser prints as indented text; no SR template knowledge is needed to read a report.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

#: SOP Class UID prefixes and values (PS3.4 Annex B.5).
SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
KOS = "1.2.840.10008.5.1.4.1.1.88.59"
ENCAPSULATED = {
    "1.2.840.10008.5.1.4.1.1.104.1": "application/pdf",
}
#: Objects that carry nothing to look at on their own (presentation states, raw data, ...).
NOT_SHOWN_PREFIXES = ("1.2.840.10008.5.1.4.1.1.11.", "1.2.840.10008.5.1.4.1.1.66")


def _code(seq: object) -> str:
    if seq:
        item = seq[0]  # type: ignore[index]
        return str(item.get("CodeMeaning", "") or item.get("CodeValue", ""))
    return ""


def _value(item: Dataset) -> str:
    """The value of one content item by Value Type (PS3.3 C.17.3.2.1), as text."""
    vt = str(item.get("ValueType", ""))
    if vt in ("TEXT",):
        return str(item.get("TextValue", ""))
    if vt == "CODE":
        return _code(item.get("ConceptCodeSequence"))
    if vt == "NUM":
        mv = item.get("MeasuredValueSequence")
        if mv:
            unit = _code(mv[0].get("MeasurementUnitsCodeSequence"))
            return f"{mv[0].get('NumericValue', '')} {unit}".strip()
        return ""
    if vt == "PNAME":
        return str(item.get("PersonName", ""))
    if vt == "DATE":
        return str(item.get("Date", ""))
    if vt == "TIME":
        return str(item.get("Time", ""))
    if vt == "DATETIME":
        return str(item.get("DateTime", ""))
    if vt == "UIDREF":
        return str(item.get("UID", ""))
    if vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        refs = item.get("ReferencedSOPSequence")
        return str(refs[0].get("ReferencedSOPInstanceUID", "")) if refs else ""
    return ""


def sr_rows(ds: Dataset, depth: int = 0, limit: int = 5000) -> list[list[object]]:
    """The content tree of ``ds`` as ``[depth, relationship, concept name, value]`` rows."""
    rows: list[list[object]] = []

    def walk(node: Dataset, level: int) -> None:
        for item in node.get("ContentSequence", []) or []:
            if len(rows) >= limit:
                return
            rows.append([level, str(item.get("RelationshipType", "")), _code(item.get("ConceptNameCodeSequence")), _value(item)])
            walk(item, level + 1)

    walk(ds, depth)
    return rows


def sr_document(ds: Dataset) -> dict[str, object]:
    """An SR as a JSON-able dict: title, flags, dates and rows."""
    return {
        "title": _code(ds.get("ConceptNameCodeSequence")) or str(ds.get("SeriesDescription", "")),
        "completion": str(ds.get("CompletionFlag", "")),
        "verification": str(ds.get("VerificationFlag", "")),
        "date": str(ds.get("ContentDate", "")),
        "time": str(ds.get("ContentTime", "")),
        "author": str(ds.get("VerifyingObserverSequence")[0].get("VerifyingObserverName", ""))
        if ds.get("VerifyingObserverSequence")
        else "",
        "rows": sr_rows(ds),
    }


def encapsulated(ds: Dataset) -> tuple[str, bytes]:
    """MIME type and document bytes (PS3.3 C.24.2), trailing pad byte removed."""
    data = bytes(ds.get("EncapsulatedDocument", b"") or b"")
    length = ds.get("EncapsulatedDocumentLength")
    if length is not None and 0 < int(length) <= len(data):
        data = data[: int(length)]
    elif data.endswith(b"\0"):
        data = data[:-1]
    mime = str(ds.get("MIMETypeOfEncapsulatedDocument", "") or ENCAPSULATED.get(str(ds.SOPClassUID), ""))
    return mime, data


def kind_of(sop_class_uid: str, has_pixels: bool) -> str:
    """How the viewer shows an object: ``image``, ``sr``, ``doc`` or ``none``."""
    uid = str(sop_class_uid)
    if uid == KOS:
        return "none"
    if uid.startswith(SR_PREFIX):
        return "sr"
    if uid in ENCAPSULATED:
        return "doc"
    if uid.startswith(NOT_SHOWN_PREFIXES):
        return "none"
    return "image" if has_pixels else "none"
