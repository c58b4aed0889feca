"""Element values decoded straight from the raw elements of a parsed header.

pydicom converts an element into a ``DataElement`` the first time it is accessed (VR lookup,
multi-value splitting, character set decoding, validation); for the two dozen values the index
keeps per received instance that was a third of ingest time. Here the raw value bytes are
decoded directly: text through pydicom's own character set decoder (``decode_bytes`` with the
Specific Character Set, PS3.5 6.1 and Annex H/I/J), numbers with ``struct`` or ``int``/``float``.
Sequences and anything unusual fall back to pydicom's full conversion, so results are the same.

A value that breaks its VR (PS3.5 6.2) never stops an instance from being filed: text is kept
as received (undecodable bytes replaced, cut to its column), a number, date or time that cannot
be read is no value (None / empty), and each such value is logged as a warning naming its tag.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import struct
from collections.abc import Callable
from typing import Any, TypeVar

from pydicom.charset import convert_encodings, decode_bytes, python_encoding
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

from publisher.dicomio.vr import CHARSET_VRS, DS_PATTERN, IS_PATTERN, NUMBER_FORMATS, TEXT_VRS

#: Characters that reset ISO 2022 code extensions in text (PS3.5 6.1.2.5.3), plus backslash.
_DELIMITERS = {0x0D, 0x0A, 0x09, 0x0C, 0x5C}


T = TypeVar("T")

log = logging.getLogger(__name__)

#: TM is HH[MM[SS[.F{1,6}]]] (PS3.5 Table 6.2-1); "HH:MM:SS.frac" is the ACR-NEMA form.
_TM = re.compile(r"(\d\d)(\d\d)?(\d\d)?(\.\d{1,6})?")


def parse_ds(text: str) -> float | None:
    """A DS value as a number, or None when it is not one (a decimal comma, NaN, infinity...)."""
    text = text.strip(" \0")
    if not DS_PATTERN.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_is(text: str) -> int | None:
    """An IS value as a number, or None when it is not one."""
    text = text.strip(" \0")
    return int(text) if IS_PATTERN.fullmatch(text) else None


def valid_date(text: str) -> str | None:
    """A DA value as YYYYMMDD when it is a real date (the ACR-NEMA form "YYYY.MM.DD" that
    PS3.5 6.2 recommends reading is accepted), else None."""
    text = text.strip(" \0")
    if len(text) == 10 and text[4] == text[7] == ".":
        text = text[:4] + text[5:7] + text[8:]
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return text


def valid_time(text: str) -> str | None:
    """A TM value when hours, minutes and seconds are in range (ACR-NEMA colons removed)."""
    text = text.strip(" \0").replace(":", "")
    m = _TM.fullmatch(text)
    if m is None:
        return None
    if int(m.group(1)) > 23 or (m.group(2) and int(m.group(2)) > 59) or (m.group(3) and int(m.group(3)) > 60):
        return None
    return text


def tag_name(tag: int) -> str:
    """``(gggg,eeee) Keyword`` for log lines."""
    try:
        keyword = keyword_for_tag(tag)
    except Exception:
        keyword = ""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X}){' ' + keyword if keyword else ''}"

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
        unknown = [n for n in names if n and n not in python_encoding]
        if unknown:
            self.warn(0x00080005, f"unknown character set {', '.join(unknown)}: text read as the default repertoire")
            names = [n for n in names if n not in unknown] or [""]
        self.encodings = convert_encodings(names or None)
        self.encodings_key = tuple(self.encodings)
        self.little_endian = bool(ds.original_encoding[1]) if ds.original_encoding[1] is not None else True

    def warn(self, tag: int, problem: str) -> None:
        """Log a value the index could not keep as it is (the file keeps it as received)."""
        uid = (self._raw(0x00080018) or b"").rstrip(b" \0").decode("ascii", "replace")
        log.warning("%s of instance %s: %s (the file keeps the value as received)", tag_name(tag), uid, problem)

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
        key = (tag, raw, self.encodings_key, limit)
        found = _TEXTS.get(key)
        if found is not None:
            return found
        text, problem = self._decode_text(tag, raw, limit)
        if problem:
            self.warn(tag, problem)  # each time: not remembered
            return text
        return _remembered(_TEXTS, key, raw, lambda: text)

    def _decode_text(self, tag: int, raw: bytes, limit: int) -> tuple[str, str]:
        """(text, what was wrong with it or "")."""
        vr = self.vr(tag)
        try:
            if vr == "PN":
                text = "\\".join(str(PersonName(part, self.encodings)) for part in raw.rstrip(b" \0").split(b"\\"))
            elif vr in CHARSET_VRS:
                text = decode_bytes(raw, self.encodings, _DELIMITERS)
            else:
                text = raw.decode("ascii", "replace")
        except Exception as exc:  # a decoder that gives up: keep what ASCII can say
            text = raw.decode("ascii", "replace")
            problem = f"cannot be decoded ({exc.__class__.__name__}): undecodable bytes replaced"
        else:
            problem = "bytes invalid in its character set replaced" if "\ufffd" in text and b"\xef\xbf\xbd" not in raw else ""
        if "\0" in text.strip(" \0"):
            text = text.replace("\0", "\ufffd")
            problem = problem or "NUL characters inside the value replaced"
        text = text.strip(" \0").strip()
        if len(text) > limit:
            problem = problem or f"{len(text)} characters, more than the index column holds ({limit}): kept the first {limit}"
            text = text[:limit].strip()
        return text, problem

    def integer(self, tag: int) -> int | None:
        """An IS (or binary integer) value; None when absent or not a number."""
        raw = self._raw(tag)
        if not raw:
            return None
        vr = self.vr(tag)
        if vr in NUMBER_FORMATS:
            try:
                return int(struct.unpack_from(("<" if self.little_endian else ">") + NUMBER_FORMATS[vr], raw)[0])
            except struct.error:
                self.warn(tag, f"{vr} of {len(raw)} bytes is too short for a number: no value indexed")
                return None
        first = raw.split(b"\\")[0].decode("ascii", "replace")
        value = parse_is(first)
        if value is None and first.strip(" \0"):
            self.warn(tag, f"{vr} {first.strip()!r} is not an integer: no value indexed")
        return value

    def date(self, tag: int) -> str:
        """A DA value as YYYYMMDD, or "" when absent or not a date (logged)."""
        text = self.text(tag, 64)
        value = valid_date(text) if text else ""
        if value is None:
            self.warn(tag, f"DA {text!r} is not a date: no value indexed")
            return ""
        return value

    def time(self, tag: int) -> str:
        """A TM value, or "" when absent or not a time of day (logged)."""
        text = self.text(tag, 64)
        value = valid_time(text) if text else ""
        if value is None or len(value) > 16:
            self.warn(tag, f"TM {text!r} is not a time of day: no value indexed")
            return ""
        return value

    def json_entry(self, tag: int) -> dict[str, Any]:
        """The element in the DICOM JSON model (PS3.18 F.2), as pydicom's ``to_json_dict``."""
        elem = self.get(tag)
        vr = self.vr(tag)
        if not isinstance(elem, RawDataElement) or (vr not in TEXT_VRS and vr not in NUMBER_FORMATS):
            try:
                return self.ds[tag].to_json_dict(None, 4096)  # sequences, binary, odd cases
            except Exception as exc:
                self.warn(tag, f"cannot be converted ({exc.__class__.__name__}: {exc}): no value indexed")
                return {"vr": vr}
        value: bytes = elem.value or b""
        key = (tag, vr, value, self.encodings_key, self.little_endian)
        found = _ENTRIES.get(key)
        if found is not None:
            return found
        problems: list[str] = []
        entry = self._json_value(tag, vr, value, problems)
        if problems:
            self.warn(tag, "; ".join(problems))
            return entry
        return _remembered(_ENTRIES, key, value, lambda: entry)

    def _json_value(self, tag: int, vr: str, value: bytes, problems: list[str]) -> dict[str, Any]:
        raw = value.rstrip(b" \0")
        if not raw:
            return {"vr": vr}
        if vr in NUMBER_FORMATS:
            fmt = ("<" if self.little_endian else ">") + NUMBER_FORMATS[vr]
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
                number = (parse_is(s) if vr == "IS" else parse_ds(s)) if s else None
                if s and number is None:
                    problems.append(f"{vr} {s!r} is not a number: no value indexed")
                out.append(number)
            return {"vr": vr, "Value": out} if any(v is not None for v in out) else {"vr": vr}
        if vr in ("DA", "TM"):
            strings = raw.decode("ascii", "replace").split("\\")
            check = valid_date if vr == "DA" else valid_time
            kept = [check(x) for x in strings]
            for x, k in zip(strings, kept):
                if k is None:
                    problems.append(f"{vr} {x.strip()!r} is not a {'date' if vr == 'DA' else 'time of day'}: no value indexed")
            return {"vr": vr, "Value": kept} if any(k is not None for k in kept) else {"vr": vr}
        if vr in CHARSET_VRS:
            try:
                decoded = decode_bytes(raw, self.encodings, _DELIMITERS)
            except Exception:
                decoded = raw.decode("ascii", "replace")
            if "\ufffd" in decoded and b"\xef\xbf\xbd" not in raw:
                problems.append("bytes invalid in its character set replaced")
            decoded = decoded.replace("\0", "\ufffd")
            strings = decoded.split("\\") if vr not in ("ST", "LT", "UT") else [decoded]
        else:
            strings = raw.decode("ascii", "replace").split("\\")
        return {"vr": vr, "Value": [s.strip(" \0") if vr not in ("ST", "LT", "UT") else s.rstrip(" \0") for s in strings]}


