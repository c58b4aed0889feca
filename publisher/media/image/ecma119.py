"""ISO 9660 (ECMA-119) and Joliet structures: volume descriptors, path tables, directories.

Level 1 names (PS3.12 F.2.2: ISO 9660 Level 1; the File-set ID is the Volume Identifier,
F.1.1); Joliet (UCS-2 Level 3, escape sequence ``%/E``) records the names as given. A file of
4 GiB or more (possible on DVD/BD only) is recorded in several File Sections (ECMA-119 6.5.1,
9.1.6 multi-extent flag), which ISO 9660 allows from Level 3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from publisher.media.image.layouts import (
    DIRECTORY_RECORD, PATH_RECORD_L, PATH_RECORD_M, SET_TERMINATOR, VOLUME_DESCRIPTOR,
)
from publisher.media.image.names import d_chars, ucs2
from publisher.media.image.tree import Node

SECTOR = 2048
MAX_SECTION = 0xFFFFF800  #: largest File Section: a 32-bit Data Length in whole sectors
DIRECTORY_FLAG, MULTI_EXTENT_FLAG = 0x02, 0x80  #: ECMA-119 9.1.6
JOLIET_ESCAPES = b"%/E"  #: UCS-2 Level 3 (Joliet specification)
NO_DATE = b"0" * 16 + b"\x00"  #: ECMA-119 8.4.26.1: date and time not specified

Space = str  # "iso" or "joliet"


def date7(when: datetime) -> bytes:
    """Recording Date and Time of a directory record (ECMA-119 9.1.5), offset in 15 minutes."""
    off = when.utcoffset()
    quarter = int(off.total_seconds() // 900) if off is not None else 0
    return bytes((when.year - 1900, when.month, when.day, when.hour, when.minute, when.second, quarter & 0xFF))


def date17(when: datetime) -> bytes:
    """Volume date and time (ECMA-119 8.4.26.1): digits, hundredths, offset in 15 minutes."""
    off = when.utcoffset()
    quarter = int(off.total_seconds() // 900) if off is not None else 0
    return f"{when:%Y%m%d%H%M%S}{when.microsecond // 10000:02d}".encode("ascii") + bytes((quarter & 0xFF,))


def record_length(name_length: int) -> int:
    return 33 + name_length + (1 - name_length % 2)  #: ECMA-119 9.1.12: padding byte after an even identifier


def record(name: bytes, extent: int, size: int, flags: int, recorded: bytes) -> bytes:
    n = len(name)
    return DIRECTORY_RECORD.pack(length=record_length(n), extent=extent, size=size, recorded=recorded,
                                 flags=flags, name_length=n) + name + (b"" if n % 2 else b"\x00")


def sections(lba: int, size: int) -> list[tuple[int, int]]:
    """``(extent, length)`` of each File Section of a file recorded contiguously at ``lba``."""
    if size <= MAX_SECTION:
        return [(lba, size)]
    out, done = [], 0
    while done < size:
        n = min(MAX_SECTION, size - done)
        out.append((lba + done // SECTOR, n))
        done += n
    return out


def _ident(node: Node, space: Space) -> bytes:
    return node.iso if space == "iso" else node.joliet


def _children(node: Node, space: Space) -> list[Node]:
    return node.children if space == "iso" else sorted(node.children, key=lambda c: c.joliet)


def _lengths(node: Node, space: Space) -> list[int]:
    out = [34, 34]  # "." and ".." (ECMA-119 6.8.2.2)
    for c in _children(node, space):
        n = record_length(len(_ident(c, space)))
        out.extend([n] * (len(sections(0, c.size)) if not c.is_dir else 1))
    return out


def _place(lengths: Sequence[int]) -> int:
    """Bytes of a directory whose records never cross a sector boundary (ECMA-119 6.8.1.1)."""
    used = 0
    for n in lengths:
        if used % SECTOR + n > SECTOR:
            used += SECTOR - used % SECTOR
        used += n
    return -(-used // SECTOR) * SECTOR


def directory_size(node: Node, space: Space) -> int:
    return _place(_lengths(node, space))


def _where(node: Node, space: Space) -> tuple[int, int]:
    return (node.iso_lba, node.iso_size) if space == "iso" else (node.joliet_lba, node.joliet_size)


def directory(node: Node, space: Space, recorded: bytes) -> bytes:
    """The directory extent of ``node`` in ``space`` (locations already assigned)."""
    lba, size = _where(node, space)
    parent = node.parent or node
    records = [record(b"\x00", lba, size, DIRECTORY_FLAG, recorded),
               record(b"\x01", *_where(parent, space), DIRECTORY_FLAG, recorded)]
    for c in _children(node, space):
        name = _ident(c, space)
        if c.is_dir:
            records.append(record(name, *_where(c, space), DIRECTORY_FLAG, recorded))
            continue
        parts = sections(c.lba, c.size)
        for i, (extent, length) in enumerate(parts):
            flags = MULTI_EXTENT_FLAG if i < len(parts) - 1 else 0
            records.append(record(name, extent, length, flags, recorded))
    out = bytearray()
    for r in records:
        if len(out) % SECTOR + len(r) > SECTOR:
            out += bytes(SECTOR - len(out) % SECTOR)
        out += r
    out += bytes(size - len(out))
    return bytes(out)


def path_table(folders: Sequence[Node], space: Space) -> tuple[bytes, bytes]:
    """L (little-endian) and M (big-endian) path tables (ECMA-119 9.4), folders in path-table order."""
    number = {id(f): i for i, f in enumerate(folders, start=1)}
    little, big = bytearray(), bytearray()
    for f in folders:
        name = b"\x00" if f.parent is None else _ident(f, space)
        parent = number[id(f.parent)] if f.parent is not None else 1
        pad = b"\x00" if len(name) % 2 else b""
        lba = _where(f, space)[0]
        little += PATH_RECORD_L.pack(name_length=len(name), extent=lba, parent=parent) + name + pad
        big += PATH_RECORD_M.pack(name_length=len(name), extent=lba, parent=parent) + name + pad
    return bytes(little), bytes(big)


def path_table_size(folders: Sequence[Node], space: Space) -> int:
    return sum(8 + n + n % 2 for n in (1 if f.parent is None else len(_ident(f, space)) for f in folders))


def _a(text: str, size: int) -> bytes:
    return text.encode("ascii", "replace")[:size].ljust(size, b" ")


def _u(text: str, size: int) -> bytes:
    raw = ucs2(text)[: size // 2 * 2]
    return raw + b"\x00 " * ((size - len(raw)) // 2) + bytes((size - len(raw)) % 2)


def volume_descriptor(space: Space, *, volume_id: str, application: str, space_size: int,
                      path_size: int, l_path: int, m_path: int, root: Node, when: datetime) -> bytes:
    """Primary (``iso``, ECMA-119 8.4) or Joliet Supplementary (``joliet``, 8.5) Volume Descriptor."""
    text: Callable[[str, int], bytes] = _a if space == "iso" else _u
    created = date17(when)
    fields: dict[str, object] = dict(
        type=1 if space == "iso" else 2, system_id=text("", 32), space_size=space_size,
        path_table_size=path_size, l_path=l_path, m_path=m_path,
        root_record=record(b"\x00", *_where(root, space), DIRECTORY_FLAG, date7(when)),
        volume_set_id=text("", 128), publisher_id=text("", 128), preparer_id=text("", 128),
        application_id=text(application, 128), created=created, modified=created, expires=NO_DATE,
        effective=NO_DATE,
    )
    if space == "iso":
        # PS3.12 F.1.1: the File-set ID in the Volume Identifier, padded with spaces
        fields.update(volume_id=_a(d_chars(volume_id, 32) if volume_id else "", 32), copyright_file=_a("", 37),
                      abstract_file=_a("", 37), bibliographic_file=_a("", 37))
    else:
        fields.update(volume_id=_u(volume_id, 32), escapes=JOLIET_ESCAPES)
    return VOLUME_DESCRIPTOR.pack(**fields)


def set_terminator() -> bytes:
    return SET_TERMINATOR.pack()
