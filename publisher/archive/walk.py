"""Proving an encoded data set complete by walking its element structure (PS3.5 7.1, 7.5, A.4).

Every length must land inside the data, every undefined-length sequence, item and encapsulated
Pixel Data must be closed by its delimiter, and the data set must end exactly at an element
boundary. Values are never read, only element and item headers, so the walk costs the same
for a 1 GiB instance as for a small one, and it runs on any :class:`Source`: one buffer, the
fragments of a C-STORE still in memory, or the file they were streamed to.
"""

from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass
from typing import Protocol

from publisher.dicomio.vr import LONG_VRS


class MalformedDataset(ValueError):
    """The encoded dataset cannot be understood (C-STORE status 0xC000 family)."""


ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
#: Deeper nesting than this is refused rather than followed (no IOD nests a tenth as deep).
MAX_DEPTH = 64


@dataclass(frozen=True)
class Encoding:
    implicit_vr: bool
    little_endian: bool
    deflated: bool

    @classmethod
    def of(cls, transfer_syntax: str) -> "Encoding":
        """PS3.5 Annex A: implicit VR LE, explicit VR BE, deflated, everything else explicit VR LE."""
        return cls(
            implicit_vr=transfer_syntax == "1.2.840.10008.1.2",
            little_endian=transfer_syntax != "1.2.840.10008.1.2.2",
            deflated=transfer_syntax == "1.2.840.10008.1.2.1.99",
        )


class Source(Protocol):
    """Bytes that can be read at any offset (``size`` of them)."""

    size: int

    def read(self, offset: int, n: int) -> bytes | memoryview: ...


class BufferSource:
    """One buffer in memory."""

    def __init__(self, buf: bytes | memoryview) -> None:
        self.buf = memoryview(buf)
        self.size = len(self.buf)

    def read(self, offset: int, n: int) -> memoryview:
        return self.buf[offset : offset + n]


class FileSource:
    """``size`` bytes of an open file from byte ``start`` on (read with ``pread``)."""

    def __init__(self, fd: int, start: int, size: int) -> None:
        self.fd, self.start, self.size = fd, start, size

    def read(self, offset: int, n: int) -> bytes:
        n = max(0, min(n, self.size - offset))
        return os.pread(self.fd, n, self.start + offset) if n else b""


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


def check_complete(buf: bytes | memoryview, enc: Encoding, start: int = 0) -> None:
    """:func:`check_source` for one buffer."""
    check_source(BufferSource(buf), enc, start)


def check_source(src: Source, enc: Encoding, start: int = 0) -> None:
    """Walk every element of ``src`` from ``start`` (an element boundary) and raise
    :class:`MalformedDataset` unless it ends exactly at the end with every nested item closed."""
    end = walk_elements(src, start, src.size, enc, 0)
    if end != src.size:
        raise MalformedDataset(f"dataset ends inside an element at byte {end}")


def walk_elements(src: Source, pos: int, end: int, enc: Encoding, depth: int) -> int:
    """Walk elements from ``pos`` until ``end`` (defined length) or an item delimiter (returns
    the offset after it)."""
    if depth > MAX_DEPTH:
        raise MalformedDataset(f"sequences nested deeper than {MAX_DEPTH} levels")
    e = "<" if enc.little_endian else ">"
    n = src.size
    while pos < end:
        head = src.read(pos, 12)
        if len(head) < 8:
            raise MalformedDataset(f"truncated element header at byte {pos}")
        group, elem = struct.unpack_from(e + "HH", head)
        tag = group << 16 | elem
        if tag == ITEM_END:
            return pos + 8
        if tag in (ITEM, SEQ_END):
            raise MalformedDataset(f"unexpected delimiter ({group:04X},{elem:04X}) at byte {pos}")
        if enc.implicit_vr or group == 0xFFFE:
            (length,) = struct.unpack_from(e + "L", head, 4)
            vr = b"SQ" if length == UNDEFINED else b""
            pos += 8
        else:
            vr = bytes(head[4:6])
            if not vr.isalpha() or not vr.isupper():
                raise MalformedDataset(f"invalid VR {vr!r} at byte {pos}")
            if vr in LONG_VRS:
                if len(head) < 12:
                    raise MalformedDataset(f"truncated element header at byte {pos}")
                (length,) = struct.unpack_from(e + "L", head, 8)
                pos += 12
            else:
                (length,) = struct.unpack_from(e + "H", head, 6)
                pos += 8
        if length == UNDEFINED:
            if vr == b"UN":  # an implicit VR LE sequence inside explicit VR (PS3.5 6.2.2)
                pos = walk_undefined(src, pos, Encoding(True, True, False), True, depth + 1)
            else:
                pos = walk_undefined(src, pos, enc, vr == b"SQ", depth + 1)
        else:
            if pos + length > n:
                raise MalformedDataset(f"element ({group:04X},{elem:04X}) of {length} bytes runs past the end ({n - pos} left)")
            if vr == b"SQ":
                walk_items(src, pos, pos + length, enc, depth + 1)
            pos += length
    return pos


def walk_items(src: Source, pos: int, end: int, enc: Encoding, depth: int) -> None:
    """The items of a sequence of defined length, from ``pos`` to ``end``."""
    e = "<" if enc.little_endian else ">"
    while pos < end:
        head = src.read(pos, 8)
        if len(head) < 8:
            raise MalformedDataset(f"truncated item header at byte {pos}")
        tag_g, tag_e, length = struct.unpack_from(e + "HHL", head)
        if (tag_g << 16 | tag_e) != ITEM:
            raise MalformedDataset(f"expected an item in a sequence at byte {pos}")
        pos += 8
        if length == UNDEFINED:
            pos = walk_elements(src, pos, src.size, enc, depth)
        else:
            if pos + length > src.size:
                raise MalformedDataset(f"item of {length} bytes runs past the end")
            walk_elements(src, pos, pos + length, enc, depth)
            pos += length


def walk_undefined(src: Source, pos: int, enc: Encoding, items: bool, depth: int) -> int:
    """A sequence (``items``: its items hold elements) or encapsulated pixel data (items are
    opaque fragments, PS3.5 A.4) of undefined length: items up to the delimiter."""
    e = "<" if enc.little_endian else ">"
    n = src.size
    while True:
        head = src.read(pos, 8)
        if len(head) < 8:
            raise MalformedDataset("undefined-length element is not closed (missing sequence delimiter)")
        g, el, length = struct.unpack_from(e + "HHL", head)
        tag = g << 16 | el
        pos += 8
        if tag == SEQ_END:
            return pos
        if tag != ITEM:
            raise MalformedDataset(f"expected an item or delimiter at byte {pos - 8}")
        if length == UNDEFINED:
            pos = walk_elements(src, pos, n, enc, depth)
            continue
        if pos + length > n:
            raise MalformedDataset(f"item of {length} bytes runs past the end")
        if items and length:
            walk_elements(src, pos, pos + length, enc, depth)
        pos += length
