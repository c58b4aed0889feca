"""Element values decoded straight from the raw elements of a parsed header.

pydicom converts an element into a ``DataElement`` the first time it is accessed (VR lookup,
multi-value splitting, character set decoding, validation); for the two dozen values the index
keeps per received instance that was a third of ingest time. Here the raw value bytes are
decoded directly: text through pydicom's own character set decoder (``decode_bytes`` with the
Specific Character Set, PS3.5 6.1 and Annex H/I/J), numbers with ``struct`` or ``int``/``float``.
Sequences and anything unusual fall back to pydicom's full conversion, so results are the same.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, TypeVar

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

#: VRs whose text follows the Specific Character Set (PS3.5 6.1.2.3).
CHARSET_VRS = frozenset({"SH", "LO", "ST", "LT", "UC", "UT"})
#: Characters that reset ISO 2022 code extensions in text (PS3.5 6.1.2.5.3), plus backslash.
_DELIMITERS = {0x0D, 0x0A, 0x09, 0x0C, 0x5C}
_STRING_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "UI", "UR"}) | CHARSET_VRS
_BINARY = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d"}


T = TypeVar("T")

#: Decoded values by raw bytes (and character set): most header values repeat from one
#: instance of a series to the next, and decoding names and numbers is most of the cost.
#: Results depend only on the key, so sharing them between threads is safe.
_TEXTS: dict[tuple[Any, ...], str] = {}
_ENTRIES: dict[tuple[Any, ...], dict[str, Any]] = {}
_MEMO_ENTRIES = 4096
_MEMO_VALUE_BYTES = 256


def _remembered(memo: dict[tuple[Any, ...], T], key: tuple[Any, ...], raw: bytes, decode: Callable[[], T]) -> T:
    """``memo[key]``, decoded now (and kept, for short values) when not there yet."""
    found = memo.get(key)
    if found is None:
        found = decode()
        if len(raw) <= _MEMO_VALUE_BYTES:
            if len(memo) >= _MEMO_ENTRIES:
                memo.clear()
            memo[key] = found
    return found


class RawValues:
    """Decoded values of a header read by :func:`publisher.archive.parse.read_header`."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        # Plain int keys: pydicom's get_item converts every key to a Tag and compares Tags in
        # Python, ~3 us a look-up, and a header is looked up ~140 times.
        items = getattr(ds, "_dict", None)
        self._elements: dict[int, Any] = (
            {int(t): e for t, e in items.items()} if isinstance(items, dict) else {int(e.tag): ds.get_item(e.tag) for e in ds}
        )
        self.get = self._elements.get
        charset = self._raw(0x00080005)
        names = [v.strip() for v in charset.decode("ascii", "replace").split("\\")] if charset else []
        self.encodings = convert_encodings(names or None)
        self.encodings_key = tuple(self.encodings)
        self.little_endian = bool(ds.original_encoding[1]) if ds.original_encoding[1] is not None else True

    def _raw(self, tag: int) -> bytes | None:
        elem = self.get(tag)
        if elem is None:
            return None
        if isinstance(elem, RawDataElement):
            return elem.value or b""
        value = elem.value
        return value if isinstance(value, bytes) else None

    def vr(self, tag: int) -> str:
        elem = self.get(tag)
        vr = getattr(elem, "VR", None)
        if vr and vr != "UN":
            return str(vr)
        try:
            return str(dictionary_VR(tag))
        except KeyError:
            return "UN"

    def text(self, tag: int, limit: int = 64) -> str:
        """The value as decoded text, multi-values joined by backslash, padding removed."""
        elem = self.get(tag)
        if elem is None:
            return ""
        if not isinstance(elem, RawDataElement):  # already converted by someone
            value = elem.value
            if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
                value = "\\".join(str(v) for v in value)
            return ("" if value is None else str(value)).strip()[:limit]
        raw = elem.value or b""
        if not raw:
            return ""
        return _remembered(_TEXTS, (tag, raw, self.encodings_key, limit), raw, lambda: self._decode_text(tag, raw, limit))

    def _decode_text(self, tag: int, raw: bytes, limit: int) -> str:
        vr = self.vr(tag)
        if vr == "PN":
            text = "\\".join(str(PersonName(part, self.encodings)) for part in raw.rstrip(b" \0").split(b"\\"))
        elif vr in CHARSET_VRS:
            text = decode_bytes(raw, self.encodings, _DELIMITERS)
        else:
            text = raw.decode("ascii", "replace")
        return text.strip(" \0")[:limit].strip()

    def integer(self, tag: int) -> int | None:
        """An IS (or binary integer) value; None when absent or not a number."""
        raw = self._raw(tag)
        if not raw:
            return None
        vr = self.vr(tag)
        try:
            if vr in _BINARY:
                return int(struct.unpack_from(("<" if self.little_endian else ">") + _BINARY[vr], raw)[0])
            return int(raw.split(b"\\")[0].strip(b" \0"))
        except (ValueError, struct.error):
            return None

    def json_entry(self, tag: int) -> dict[str, Any]:
        """The element in the DICOM JSON model (PS3.18 F.2), as pydicom's ``to_json_dict``."""
        elem = self.get(tag)
        vr = self.vr(tag)
        if not isinstance(elem, RawDataElement) or (vr not in _STRING_VRS and vr not in _BINARY and vr not in ("PN", "IS", "DS")):
            return self.ds[tag].to_json_dict(None, 4096)  # sequences, binary, odd cases
        value: bytes = elem.value or b""
        key = (tag, vr, value, self.encodings_key, self.little_endian)
        return _remembered(_ENTRIES, key, value, lambda: self._json_value(tag, vr, value))

    def _json_value(self, tag: int, vr: str, value: bytes) -> dict[str, Any]:
        raw = value.rstrip(b" \0")
        if not raw:
            return {"vr": vr}
        if vr in _BINARY:
            fmt = ("<" if self.little_endian else ">") + _BINARY[vr]
            size = struct.calcsize(fmt)
            return {"vr": vr, "Value": [v for (v,) in struct.iter_unpack(fmt, value[: len(value) // size * size])]}
        parts = raw.split(b"\\")
        if vr == "PN":
            values: list[Any] = []
            for part in parts:
                groups = str(PersonName(part.strip(b" "), self.encodings)).split("=")
                entry = {k: g for k, g in zip(("Alphabetic", "Ideographic", "Phonetic"), groups) if g}
                values.append(entry)
            return {"vr": vr, "Value": values}
        if vr in ("IS", "DS"):
            out: list[Any] = []
            for part in parts:
                s = part.strip(b" \0").decode("ascii", "replace")
                if not s:
                    out.append(None)
                    continue
                try:
                    out.append(int(s) if vr == "IS" else _ds_number(s))
                except ValueError:
                    return self.ds[tag].to_json_dict(None, 4096)
            return {"vr": vr, "Value": out}
        if vr in CHARSET_VRS:
            decoded = decode_bytes(raw, self.encodings, _DELIMITERS)
            strings = decoded.split("\\") if vr not in ("ST", "LT", "UT") else [decoded]
        else:
            strings = raw.decode("ascii", "replace").split("\\")
        return {"vr": vr, "Value": [s.strip(" \0") if vr not in ("ST", "LT", "UT") else s.rstrip(" \0") for s in strings]}


def _ds_number(s: str) -> float | int:
    """A DS value as pydicom's JSON writer gives it (a float, or int when written as one)."""
    value = float(s)
    return value
