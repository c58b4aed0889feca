"""Reading what the index needs from an encoded dataset without decoding pixel data.

Incoming data is never fully decoded (docs/architecture.md, section 7): the element stream is walked once to
prove it is complete (every length lands inside the buffer, every undefined-length item and
sequence is closed, PS3.5 7.1 and 7.5), then only the header up to Pixel Data is parsed.
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

from pydicom import config as pydicom_config
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pydicom.filereader import read_dataset

from publisher.dicomio.vr import LONG_VRS
from publisher.archive.walk import (
    UNDEFINED,
    BufferSource,
    Encoding,
    Fragments,
    MalformedDataset,
    Source,
    check_complete,
    check_source,
    walk_items,
    walk_undefined,
)

__all__ = ["Encoding", "Fragments", "MalformedDataset", "check_complete", "check_rest", "header_prefix", "read_header"]

_LONG_VR_NAMES = frozenset(vr.decode("ascii") for vr in LONG_VRS)


def configure_pydicom() -> None:
    """Set pydicom's process-wide settings, once, at service start (:class:`publisher.service.Service`).

    pydicom validates every value it decodes (VR character repertoires and lengths, PS3.5 6.2)
    against ``config.settings.reading_validation_mode``, a process global: ``dcmread`` and the
    element conversion take no per-call mode, and a context manager that flips the global is
    not safe with the service's association threads. So the service sets it once: IGNORE, since
    what arrives is stored as received whatever its conformance (the archive is not the place to
    judge a modality's values; ``dciodvfy`` is) and validation costs ~0.5 ms per instance at
    ingest. A library user that builds an :class:`~publisher.archive.ingest.Archive` itself
    calls this once too (the test suite does in ``tests/conftest.py``); without it pydicom only
    warns about such values, it does not refuse them."""
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE


#: The former name of :func:`configure_pydicom`.
lenient_reading = configure_pydicom


#: A deflated data set is inflated in memory to be read; one that inflates to more than this
#: is refused (a few kilobytes of deflate stream can stand for gigabytes).
INFLATED_LIMIT = 64 * 1024 * 1024


class TooLarge(MalformedDataset):
    """The data set is larger than what this archive takes (C-STORE status 0xA700)."""


def inflate(data: bytes | memoryview, limit: int = INFLATED_LIMIT) -> bytes:
    """Deflated Explicit VR Little Endian (PS3.5 A.5) is a raw RFC 1951 stream."""
    try:
        d = zlib.decompressobj(-zlib.MAX_WBITS)
        out = d.decompress(data, limit + 1)
        if len(out) > limit or d.unconsumed_tail:
            raise TooLarge(f"deflated data set inflates to more than {limit // 2**20} MiB")
        out += d.flush()
    except zlib.error as exc:
        raise MalformedDataset(f"deflated dataset does not inflate: {exc}") from None
    if not d.eof:
        raise MalformedDataset("deflated dataset is truncated")
    return out


_PIXEL_DATA_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})


def _at_pixel_data(tag: int, vr: str | None, length: int) -> bool:
    return tag in _PIXEL_DATA_TAGS


def check_rest(data: Source, start: int, enc: Encoding) -> None:
    """The complete-data-set check for the part of ``data`` from ``start`` (an element
    boundary, e.g. Pixel Data) on: element headers only, so a 500 KB native image costs one
    12-byte read, not a copy."""
    check_source(data, enc, start)


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
    source = BufferSource(buf)
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
        if length == UNDEFINED:
            if vr not in (None, "SQ"):
                return None
            try:
                end = walk_undefined(source, start, enc, True, 1)
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
                walk_items(source, start, end, enc, 1)
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
    raw = inflate(data) if enc.deflated else data
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


#: Values longer than this are skipped, not read, when a header is read from a file.
_FILE_DEFER = 64 * 1024


def read_header_file(path: str, start: int, size: int, enc: Encoding) -> Dataset:
    """The header of a data set too large to hold in memory, read from the file it was streamed
    to (``size`` bytes from ``start``), after :func:`check_rest` proved it complete. Values
    longer than 64 KiB (bulk data: no index value is so long) are skipped, never read."""
    try:
        with open(path, "rb") as f:
            f.seek(start)
            ds = read_dataset(f, enc.implicit_vr, enc.little_endian, bytelength=size, stop_when=_at_pixel_data,
                              defer_size=_FILE_DEFER)
    except Exception as exc:  # pydicom raises several types for bad encodings
        raise MalformedDataset(f"cannot parse dataset: {exc}") from None
    for tag, elem in list(ds._dict.items()):
        if isinstance(elem, RawDataElement) and elem.value is None and elem.length:
            del ds._dict[tag]  # deferred: never read, and no file name to read it from later
    ds.set_original_encoding(enc.implicit_vr, enc.little_endian)
    return ds
