"""Reading what the index needs from an encoded dataset without decoding pixel data.

Incoming data is never fully decoded (DESIGN section 7): the element stream is walked once to
prove it is complete (every length lands inside the buffer, every undefined-length item and
sequence is closed, PS3.5 7.1 and 7.5), then only the header up to Pixel Data is parsed.
"""

from __future__ import annotations

import bisect
import struct
import zlib
from dataclasses import dataclass
from io import BytesIO

from pydicom import config as pydicom_config
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pydicom.filereader import read_dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian

_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
_LONG_VR_NAMES = frozenset(vr.decode("ascii") for vr in _LONG_VRS)
_ITEM, _ITEM_END, _SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF


def lenient_reading() -> None:
    """Do not validate every value read (VR regexes and lengths): what arrives is stored as
    received whatever its conformance, and validation costs ~0.5 ms per instance at ingest."""
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE


class MalformedDataset(ValueError):
    """The encoded dataset cannot be understood (C-STORE status 0xC000 family)."""


@dataclass(frozen=True)
class Encoding:
    implicit_vr: bool
    little_endian: bool
    deflated: bool

    @classmethod
    def of(cls, transfer_syntax: str) -> "Encoding":
        """PS3.5 Annex A: implicit VR LE, explicit VR BE, deflated, everything else explicit VR LE."""
        return cls(
            implicit_vr=transfer_syntax == ImplicitVRLittleEndian,
            little_endian=transfer_syntax != ExplicitVRBigEndian,
            deflated=transfer_syntax == DeflatedExplicitVRLittleEndian,
        )


def inflate(data: bytes) -> bytes:
    """Deflated Explicit VR Little Endian (PS3.5 A.5) is a raw RFC 1951 stream."""
    try:
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        out = d.decompress(data) + d.flush()
    except zlib.error as exc:
        raise MalformedDataset(f"deflated dataset does not inflate: {exc}") from None
    if not d.eof:
        raise MalformedDataset("deflated dataset is truncated")
    return out


def check_complete(buf: bytes | memoryview, enc: Encoding, start: int = 0) -> None:
    """Walk every element of the dataset in ``buf`` and raise :class:`MalformedDataset` unless
    it ends exactly at an element boundary with every nested item closed."""
    end = _walk(memoryview(buf), start, len(buf), enc, top=True)
    if end != len(buf):
        raise MalformedDataset(f"dataset ends inside an element at byte {end}")


def _walk(buf: memoryview, pos: int, end: int, enc: Encoding, top: bool = False) -> int:
    """Walk elements from ``pos`` until ``end`` (defined length) or an item delimiter."""
    e = "<" if enc.little_endian else ">"
    n = len(buf)
    while pos < end:
        if pos + 8 > n:
            raise MalformedDataset(f"truncated element header at byte {pos}")
        group, elem = struct.unpack_from(e + "HH", buf, pos)
        tag = group << 16 | elem
        if tag == _ITEM_END:
            return pos + 8
        if tag in (_ITEM, _SEQ_END):
            raise MalformedDataset(f"unexpected delimiter ({group:04X},{elem:04X}) at byte {pos}")
        if enc.implicit_vr or group == 0xFFFE:
            (length,) = struct.unpack_from(e + "L", buf, pos + 4)
            vr = b"SQ" if length == _UNDEFINED else b""
            pos += 8
        else:
            vr = bytes(buf[pos + 4 : pos + 6])
            if not vr.isalpha() or not vr.isupper():
                raise MalformedDataset(f"invalid VR {vr!r} at byte {pos}")
            if vr in _LONG_VRS:
                if pos + 12 > n:
                    raise MalformedDataset(f"truncated element header at byte {pos}")
                (length,) = struct.unpack_from(e + "L", buf, pos + 8)
                pos += 12
            else:
                (length,) = struct.unpack_from(e + "H", buf, pos + 6)
                pos += 8
        if length == _UNDEFINED:
            if vr == b"UN":  # an implicit VR LE sequence inside explicit VR (PS3.5 6.2.2)
                pos = _walk_undefined(buf, pos, Encoding(True, True, False), items=True)
            else:
                pos = _walk_undefined(buf, pos, enc, items=vr == b"SQ")
        else:
            if pos + length > n:
                raise MalformedDataset(
                    f"element ({group:04X},{elem:04X}) of {length} bytes runs past the end ({n - pos} left)"
                )
            if vr == b"SQ":
                _walk_items(buf, pos, pos + length, enc)
            pos += length
    return pos


def _walk_items(buf: memoryview, pos: int, end: int, enc: Encoding) -> None:
    e = "<" if enc.little_endian else ">"
    while pos < end:
        tag_g, tag_e, length = struct.unpack_from(e + "HHL", buf, pos)
        if (tag_g << 16 | tag_e) != _ITEM:
            raise MalformedDataset(f"expected an item in a sequence at byte {pos}")
        pos += 8
        if length == _UNDEFINED:
            pos = _walk(buf, pos, len(buf), enc)
        else:
            _walk(buf, pos, pos + length, enc)
            pos += length


def _walk_undefined(buf: memoryview, pos: int, enc: Encoding, items: bool) -> int:
    """A sequence (``items``: its items hold elements) or encapsulated pixel data (items are
    opaque fragments, PS3.5 A.4) of undefined length: items up to the delimiter."""
    e = "<" if enc.little_endian else ">"
    n = len(buf)
    while True:
        if pos + 8 > n:
            raise MalformedDataset("undefined-length element is not closed (missing sequence delimiter)")
        g, el, length = struct.unpack_from(e + "HHL", buf, pos)
        tag = g << 16 | el
        pos += 8
        if tag == _SEQ_END:
            return pos
        if tag != _ITEM:
            raise MalformedDataset(f"expected an item or delimiter at byte {pos - 8}")
        if length == _UNDEFINED:
            pos = _walk(buf, pos, n, enc)
            continue
        if pos + length > n:
            raise MalformedDataset(f"item of {length} bytes runs past the end")
        if items and length:
            _walk(buf, pos, pos + length, enc)
        pos += length


_PIXEL_DATA_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})


def _at_pixel_data(tag: int, vr: str | None, length: int) -> bool:
    return tag in _PIXEL_DATA_TAGS


class Fragments:
    """The pieces of a data set as they arrived (PDV payloads), read without joining them."""

    def __init__(self) -> None:
        self.parts: list[bytes | memoryview] = []
        self.starts: list[int] = []
        self.size = 0

    def append(self, part: bytes | memoryview) -> None:
        self.starts.append(self.size)
        self.parts.append(part)
        self.size += len(part)

    def read(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes from ``offset`` (fewer at the end)."""
        i = bisect.bisect_right(self.starts, offset) - 1
        out = bytearray()
        while i < len(self.parts) and len(out) < n:
            part = self.parts[i]
            skip = offset - self.starts[i] if not out else 0
            out += part[skip : skip + n - len(out)]
            i += 1
        return bytes(out)

    def joined(self, offset: int = 0) -> bytes:
        """Everything from ``offset`` as one buffer."""
        return self.read(offset, self.size - offset) if offset else b"".join(self.parts)


def check_rest(data: Fragments, start: int, enc: Encoding) -> None:
    """The complete-data-set check of :func:`check_complete` for the part of ``data`` from
    ``start`` (an element boundary, e.g. Pixel Data) on, reading only element headers where
    lengths are defined: a 500 KB native image costs one 12-byte read, not a copy."""
    e = "<" if enc.little_endian else ">"
    pos, n = start, data.size
    while pos < n:
        head = data.read(pos, 12)
        if len(head) < 8:
            raise MalformedDataset(f"truncated element header at byte {pos}")
        group, elem = struct.unpack_from(e + "HH", head)
        vr = b"" if enc.implicit_vr or group == 0xFFFE else head[4:6]
        if enc.implicit_vr or group == 0xFFFE:
            (length,) = struct.unpack_from(e + "L", head, 4)
            size = 8
        elif vr in _LONG_VRS:
            if len(head) < 12:
                raise MalformedDataset(f"truncated element header at byte {pos}")
            (length,) = struct.unpack_from(e + "L", head, 8)
            size = 12
        else:
            (length,) = struct.unpack_from(e + "H", head, 6)
            size = 8
        if vr and (not vr.isalpha() or not vr.isupper()):
            raise MalformedDataset(f"invalid VR {vr!r} at byte {pos}")
        if group == 0xFFFE or length == _UNDEFINED or vr == b"SQ":
            check_complete(data.joined(pos), enc)  # items to walk: in one buffer, as at the start
            return
        if pos + size + length > n:
            raise MalformedDataset(
                f"element ({group:04X},{elem:04X}) of {length} bytes runs past the end ({n - pos - size} left)"
            )
        pos += size + length



def raw_header(raw: bytes | memoryview, enc: Encoding) -> Dataset | None:
    """The top-level elements before Pixel Data of a complete, already checked data set as
    pydicom raw elements, or None for what only pydicom's reader handles (see
    :func:`header_prefix`)."""
    try:
        found = header_prefix(raw, enc, complete=True)
    except MalformedDataset:
        return None
    return found[1] if found is not None else None


def header_prefix(raw: bytes | memoryview, enc: Encoding, *, complete: bool = False) -> tuple[int, Dataset] | None:
    """Read the header at the start of ``raw``: (offset of Pixel Data, its elements).

    One pass does what the index needs: it checks what :func:`check_complete` checks for
    these elements (VRs, every length inside the buffer, nested items closed) and keeps each
    element as a pydicom raw element (decoded only when asked for); pydicom's general reader
    costs three times as much per element. With ``complete`` False, ``raw`` is the first part
    of a data set still arriving: None means "not all of the header yet". With ``complete``,
    a data set without Pixel Data ends at ``len(raw)``. None also stands for what only
    pydicom's reader handles (a UN sequence of undefined length). Raises
    :class:`MalformedDataset` for what no more data can mend."""
    buf = memoryview(raw)
    n = len(buf)
    e = "<" if enc.little_endian else ">"
    implicit, little = enc.implicit_vr, enc.little_endian
    elements: dict[BaseTag, DataElement | RawDataElement] = {}
    pos = 0
    while True:
        if pos + 8 > n:
            if not complete:
                return None  # the next element header has not arrived yet
            if pos != n:
                raise MalformedDataset(f"truncated element header at byte {pos}")
            break  # a data set without Pixel Data
        group, elem = struct.unpack_from(e + "HH", buf, pos)
        tag = group << 16 | elem
        if tag in _PIXEL_DATA_TAGS:
            break
        if group == 0xFFFE:
            raise MalformedDataset(f"unexpected delimiter ({group:04X},{elem:04X}) at byte {pos}")
        if implicit:
            (length,) = struct.unpack_from(e + "L", buf, pos + 4)
            vr: str | None = None
            start = pos + 8
        else:
            code = bytes(buf[pos + 4 : pos + 6])
            if not code.isalpha() or not code.isupper():
                raise MalformedDataset(f"invalid VR {code!r} at byte {pos}")
            vr = code.decode("ascii")
            if vr in _LONG_VR_NAMES:
                if pos + 12 > n:
                    if complete:
                        raise MalformedDataset(f"truncated element header at byte {pos}")
                    return None
                (length,) = struct.unpack_from(e + "L", buf, pos + 8)
                start = pos + 12
            else:
                (length,) = struct.unpack_from(e + "H", buf, pos + 6)
                start = pos + 8
        if length == _UNDEFINED:
            if vr not in (None, "SQ"):
                return None
            try:
                end = _walk_undefined(buf, start, enc, items=True)
            except MalformedDataset:
                if complete:
                    raise
                return None  # not closed within what has arrived (the final walk tells)
            value = bytes(buf[start : end - 8])  # the items, without the sequence delimiter
            vr = "SQ"
        else:
            end = start + length
            if end > n:
                if complete:
                    raise MalformedDataset(f"element ({group:04X},{elem:04X}) of {length} bytes runs past the end")
                return None
            if vr == "SQ":
                _walk_items(buf, start, end, enc)
            value = bytes(buf[start:end])
        pos = end
        t = BaseTag(tag)
        elements[t] = RawDataElement(t, vr, len(value), value, start, implicit, little, True, False)
    ds = Dataset(elements)
    ds.set_original_encoding(implicit, little)
    return pos, ds


def read_header(data: bytes | memoryview, transfer_syntax: str) -> Dataset:
    """The dataset's elements before Pixel Data, values decoded lazily by pydicom.

    Raises :class:`MalformedDataset` when the stream is incomplete or cannot be parsed."""
    enc = Encoding.of(transfer_syntax)
    raw = inflate(bytes(data)) if enc.deflated else data
    check_complete(raw, enc)
    return parse_header(raw, enc)


def parse_header(raw: bytes | memoryview, enc: Encoding) -> Dataset:
    """Parse the elements of ``raw`` up to Pixel Data (no completeness check: callers make it)."""
    ds = raw_header(raw, enc)
    if ds is not None:
        return ds
    try:
        ds = read_dataset(
            BytesIO(raw),
            enc.implicit_vr,
            enc.little_endian,
            stop_when=_at_pixel_data,
            defer_size=8192,
        )
    except Exception as exc:  # pydicom raises several types for bad encodings
        raise MalformedDataset(f"cannot parse dataset: {exc}") from None
    ds.set_original_encoding(enc.implicit_vr, enc.little_endian)
    return ds
