"""C-FIND response identifiers encoded straight from index rows (PS3.4 C.4.1.1.3.2).

:func:`~publisher.dicom.qr_models.response_identifier` builds a pydicom Dataset per match and
pydicom's writer encodes it: a third of a large C-FIND's time. A :class:`ResponsePlan` is
made once per query from its identifier: the elements of every response in tag order, each
with its VR and where its value comes from. Per match only the values change, so a response
is a few ``struct`` packs (PS3.5 7.1.2 explicit, 7.1.3 implicit VR little endian).

The plan gives byte for byte what the Dataset path gives, and hands over to it whenever it
could not: a row with non-ASCII text (the response's Specific Character Set then depends on
the values, PS3.5 6.1.2.3), a key sent with a VR that is not text, a sequence, big endian.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.multival import MultiValue
from pynetdicom.dsutils import encode

from publisher.archive.query.keys import KEY_BY_KEYWORD, UNIQUE_KEY, Level
from publisher.dicom.qr_models import LEVELS, Model, response_identifier
from publisher.dicomio.encode import explicit_header, implicit_element
from publisher.dicomio.vr import LONG_VR_NAMES, TEXT_VRS

_CHARSET_TAG = 0x00080005
_LEVEL_TAG = 0x00080052

_LENGTH2 = struct.Struct("<H").pack
_LENGTH4 = struct.Struct("<I").pack

#: Where an element's value comes from: a constant (already encoded) or a row keyword.
_Source = tuple[bytes | None, str | None]


@dataclass
class ResponsePlan:
    """The responses of one C-FIND identifier, encoded from rows (see the module docstring)."""

    identifier: Dataset
    level: Level
    model: Model
    retrieve_ae_title: str
    implicit: bool
    little_endian: bool = True

    def __post_init__(self) -> None:
        self._items: list[tuple[int, str, _Source]] = []
        self._lean = self.little_endian
        query_charset = self.identifier.get("SpecificCharacterSet", "")
        terms = list(query_charset) if isinstance(query_charset, (list, MultiValue)) else ([query_charset] if query_charset else [])
        seen: set[int] = set()
        for elem in self.identifier:
            tag, keyword, vr = int(elem.tag), elem.keyword, str(elem.VR)
            if tag in (_CHARSET_TAG, _LEVEL_TAG):
                continue
            seen.add(tag)
            if keyword == "RetrieveAETitle":
                self._add(tag, "AE", _text(self.retrieve_ae_title, "AE"), None)
            elif keyword == "InstanceAvailability":
                self._add(tag, "CS", _text("ONLINE", "CS"), None)
            elif vr == "SQ":
                self._lean = False
            elif keyword in KEY_BY_KEYWORD:
                self._lean = self._lean and vr in TEXT_VRS
                self._add(tag, vr, None, keyword)
            else:
                self._add(tag, vr, b"", None)
        for lv in LEVELS[self.model]:
            keyword = UNIQUE_KEY[lv]
            tag = _tag(keyword)
            if lv <= self.level and tag not in seen:
                self._add(tag, dictionary_VR(tag), None, keyword)
        self._add(_LEVEL_TAG, "CS", _text(self.level.name, "CS"), None)
        if terms:
            self._add(_CHARSET_TAG, "CS", _text("\\".join(terms), "CS"), None)
        self._items.sort(key=lambda item: item[0])
        #: Per element: its whole encoding when constant, else (keyword, VR, head, length packer).
        self._parts: list[bytes | tuple[str, str, bytes, Callable[[int], bytes]]] = [
            self._element(tag, vr, value) if value is not None else (keyword or "", vr, *self._head(tag, vr))
            for tag, vr, (value, keyword) in self._items
        ]

    def _add(self, tag: int, vr: str, value: bytes | None, keyword: str | None) -> None:
        self._items.append((tag, vr, (value, keyword)))

    def _element(self, tag: int, vr: str, value: bytes) -> bytes:
        if self.implicit:
            return implicit_element(tag, value)
        return explicit_header(tag, vr, len(value)) + value

    def _head(self, tag: int, vr: str) -> tuple[bytes, Callable[[int], bytes]]:
        """The bytes of an element before its length, and the packer of its length."""
        if self.implicit:
            return struct.pack("<HH", tag >> 16, tag & 0xFFFF), _LENGTH4
        if vr in LONG_VR_NAMES:
            return struct.pack("<HH2s2x", tag >> 16, tag & 0xFFFF, vr.encode("ascii")), _LENGTH4
        return struct.pack("<HH2s", tag >> 16, tag & 0xFFFF, vr.encode("ascii")), _LENGTH2

    def encode(self, row: Mapping[str, Any]) -> bytes:
        """The response identifier of ``row`` in the negotiated transfer syntax."""
        if self._lean:
            parts: list[bytes] = []
            for part in self._parts:
                if isinstance(part, bytes):
                    parts.append(part)
                    continue
                keyword, vr, head, length = part
                raw = _row_text(row.get(keyword), vr)
                if raw is None:
                    break  # non-ASCII: the Dataset path chooses the character set
                if len(raw) > 0xFFFF and length is _LENGTH2:
                    break  # too long for its VR: as pydicom fails, fail there
                parts += (head, length(len(raw)), raw)
            else:
                return b"".join(parts)
        ds = response_identifier(self.identifier, self.level, self.model, row, retrieve_ae_title=self.retrieve_ae_title)
        out = encode(ds, self.implicit, self.little_endian)
        assert out is not None, "a response identifier always encodes"
        return out


def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return int(tag)


def _text(value: str, vr: str) -> bytes:
    """A text value as pydicom writes it: padded to even length, with NUL for UI (PS3.5 6.2)."""
    raw = value.encode("ascii", "replace")
    return raw + (b"\0" if vr == "UI" else b" ") if len(raw) % 2 else raw


def _row_text(value: Any, vr: str) -> bytes | None:
    """A row's value encoded as :func:`~publisher.dicom.qr_models.response_identifier` and
    pydicom would (b"" when it has none); None when the Dataset path must encode it: non-ASCII
    text, or a type the index does not hold."""
    if value is None:
        return b""
    cls = type(value)
    text: str
    if cls is str:
        text = value
    elif cls is int:
        text = str(value)
    elif cls is list:
        text = "\\".join(str(v) for v in value)
    else:
        return None
    if not text.isascii():
        return None
    raw = text.encode("ascii")
    return raw + (b"\0" if vr == "UI" else b" ") if len(raw) % 2 else raw
