"""The DICOM JSON Model (PS3.18 Annex F.2) of what QIDO-RS and STOW-RS answer, and of the
metadata WADO-RS returns (bulk data left out, PS3.18 F.2.7 allows a BulkDataURI or nothing).

An attribute is ``"GGGGEEEE": {"vr": VR, "Value": [...]}``; an empty value has no ``Value``
(F.2.5); a person name is ``{"Alphabetic": ..., "Ideographic": ..., "Phonetic": ...}`` from its
``=``-separated component groups (F.2.2); IS, DS, US... values are JSON numbers (F.2.3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

_NUMBER_VRS = {"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD", "UV", "SV"}
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
#: Sent as a stand-in BulkDataURI to pydicom, and dropped afterwards.
_DROPPED = "urn:publisher:bulk-data-left-out"


def tag_hex(keyword: str) -> str:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return f"{tag:08X}"


def keyword_of(name: str) -> str | None:
    """A query parameter's attribute: a keyword (``PatientID``) or a tag (``00100020``), PS3.18 8.3.4.1."""
    if len(name) == 8 and all(c in "0123456789abcdefABCDEF" for c in name):
        kw = keyword_for_tag(int(name, 16))
        return kw or None
    return name if tag_for_keyword(name) is not None else None


def _person(value: str) -> dict[str, str]:
    return {g: part for g, part in zip(_PN_GROUPS, value.split("=")) if part}


def element(keyword: str, value: Any) -> dict[str, Any]:
    """One attribute of the JSON model; ``value`` a str (``\\`` between values), number, list or None."""
    vr = dictionary_VR(keyword)
    if value is None or value == "" or value == []:
        return {"vr": vr}
    values = list(value) if isinstance(value, (list, tuple)) else \
        (str(value).split("\\") if isinstance(value, str) else [value])
    if vr == "PN":
        out: list[Any] = [_person(str(v)) for v in values]
    elif vr in _NUMBER_VRS:
        out = [_number(v) for v in values]
    else:
        out = [str(v) for v in values]
    return {"vr": vr, "Value": out}


def _number(v: Any) -> int | float | None:
    if isinstance(v, (int, float)):
        return v
    text = str(v).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def attributes(values: Mapping[str, Any], keywords: Iterable[str]) -> dict[str, Any]:
    """The JSON object of ``keywords`` taken from ``values`` (keyword -> value), sorted by tag."""
    out = {tag_hex(kw): element(kw, values.get(kw)) for kw in keywords}
    return dict(sorted(out.items()))


def sequence(keyword: str, items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A sequence attribute (vr SQ) of already encoded items."""
    listed = list(items)
    return {"vr": "SQ", "Value": listed} if listed else {"vr": "SQ"}


def metadata(ds: Dataset, threshold: int = 1024) -> dict[str, Any]:
    """``ds`` in the JSON model without its bulk data (binary values over ``threshold`` bytes)."""
    encoded: dict[str, Any] = ds.to_json_dict(bulk_data_threshold=threshold, bulk_data_element_handler=lambda _e: _DROPPED)
    return _strip(encoded)


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag, attr in obj.items():
        if attr.get("BulkDataURI") == _DROPPED:
            continue
        if attr.get("vr") == "SQ" and "Value" in attr:
            attr = {**attr, "Value": [_strip(item) for item in attr["Value"]]}
        out[tag] = attr
    return out
