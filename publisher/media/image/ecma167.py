"""Building blocks of UDF descriptors: tags with CRC and checksum, identifiers, times, extents.

ECMA-167 3rd edition (= ISO/IEC 13346 with its 1999 revision) as profiled by OSTA UDF 2.60;
the byte layouts are the table in :mod:`publisher.media.image.layouts`.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from datetime import datetime

from publisher.media.image.layouts import (
    CHARSPEC, EXTENT_AD, LONG_AD, REGID, SHORT_AD, TAG, TIMESTAMP, Layout,
)

BLOCK = 2048  #: logical sector = logical block size on CD/DVD/BD (UDF 2.60 2.1.6)
#: Largest extent a UDF allocation descriptor records: 2^30 - block size (ECMA-167 4/14.14.1.1:
#: 30-bit length; UDF 2.60 2.3.10: lengths are multiples of the block size except the last).
MAX_EXTENT = (1 << 30) - BLOCK
IMPLEMENTATION = b"*DISC PUBLISHER"  #: our Implementation Identifier (UDF 2.60 2.1.5.2)
OS_CLASS_UNIX, OS_LINUX = 4, 5  #: UDF 2.60 6.3 operating system class / identifier

# Tag identifiers, ECMA-167 3/7.2.1 and 4/7.2.1
PRIMARY_VOLUME, ANCHOR, IMPLEMENTATION_USE, PARTITION, LOGICAL_VOLUME = 1, 2, 4, 5, 6
UNALLOCATED_SPACE, TERMINATING, INTEGRITY = 7, 8, 9
FILE_SET, FILE_IDENTIFIER, FILE_ENTRY, EXTENDED_FILE_ENTRY = 256, 257, 261, 266

# ICB file types (ECMA-167 4/14.6.6, UDF 2.60 2.3.5.2)
DIRECTORY, REGULAR_FILE, METADATA_FILE, METADATA_MIRROR = 4, 5, 250, 251
# Allocation descriptor types in the ICB tag flags (ECMA-167 4/14.6.8)
SHORT, LONG = 0, 1


@dataclass(frozen=True)
class Revision:
    """What a UDF revision records (UDF 2.60 2.1.3, 2.1.7; ECMA-167 2nd ed. for NSR02)."""

    number: int  #: BCD, e.g. 0x0260

    @property
    def text(self) -> str:
        return f"{self.number >> 8:x}.{self.number & 0xFF:02x}"

    @property
    def nsr(self) -> bytes:
        """Volume Recognition: NSR02 (ECMA-167 2nd edition, UDF < 2.00) or NSR03 (3rd edition)."""
        return b"NSR02" if self.number < 0x0200 else b"NSR03"

    @property
    def tag_version(self) -> int:
        return 2 if self.number < 0x0200 else 3  #: ECMA-167 3/7.2.2

    @property
    def extended_entries(self) -> bool:
        """Extended File Entries exist from UDF 2.00 (ECMA-167 3rd edition 4/14.17)."""
        return self.number >= 0x0200

    @property
    def metadata_partition(self) -> bool:
        """UDF 2.50 2.2.10 / 2.2.13: metadata (FEs, directories) in a Metadata Partition."""
        return self.number >= 0x0250

    @property
    def min_read(self) -> int:
        """Minimum UDF Read Revision (UDF 2.60 2.2.6.4): 2.60 media without Pseudo OverWrite
        structures are readable by 2.50 readers (UDF 2.60 revision history, 2.2.6.4)."""
        return 0x0250 if self.number >= 0x0250 else self.number


def descriptor(layout: Layout, ident: int, location: int, version: int, tail: bytes = b"", **fields: object) -> bytes:
    """A tagged descriptor from ``layout`` (its first field is the 16-byte tag) plus ``tail``.

    The tag (ECMA-167 3/7.2): CRC-ITU-T over everything after it (3/7.2.6: x^16 + x^12 + x^5 + 1,
    initial 0, i.e. CRC-CCITT XModem), the checksum of tag bytes 0-3 and 5-15 (3/7.2.3), serial
    number 1, and the location: the block the descriptor is in (3/7.2.8)."""
    raw = bytearray(layout.pack(**fields))
    raw += tail
    with memoryview(raw) as view:
        body = view[16:]
        TAG.struct.pack_into(raw, 0, ident, version, 0, 0, 1, binascii.crc_hqx(body, 0), len(body), location)
        body.release()
    raw[4] = sum(raw[:16]) & 0xFF
    return bytes(raw)


def timestamp(when: datetime) -> bytes:
    """ECMA-167 1/7.3: type 1 (local time) with its offset from UTC in minutes."""
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    us = when.microsecond
    return TIMESTAMP.pack(type_tz=(1 << 12) | (minutes & 0xFFF), year=when.year, month=when.month,
                          day=when.day, hour=when.hour, minute=when.minute, second=when.second,
                          centiseconds=us // 10000, hundreds_of_us=us // 100 % 100, microseconds=us % 100)


def regid(identifier: bytes, suffix: bytes = b"", flags: int = 0) -> bytes:
    return REGID.pack(flags=flags, identifier=identifier, suffix=suffix)


def domain_id(revision: Revision) -> bytes:
    """UDF 2.60 2.1.5.3: "*OSTA UDF Compliant", suffix = UDF revision + domain flags (0)."""
    return regid(b"*OSTA UDF Compliant", struct.pack("<HB5x", revision.number, 0))


def udf_id(identifier: bytes, revision: Revision) -> bytes:
    """UDF Identifier Suffix (UDF 2.60 2.1.5.3): revision, OS class and identifier."""
    return regid(identifier, struct.pack("<HBB4x", revision.number, OS_CLASS_UNIX, OS_LINUX))


def implementation_id() -> bytes:
    """Implementation Identifier Suffix (UDF 2.60 2.1.5.3): OS class and identifier."""
    return regid(IMPLEMENTATION, bytes((OS_CLASS_UNIX, OS_LINUX)))


CS0 = CHARSPEC.pack(type=0, info=b"OSTA Compressed Unicode")  #: UDF 2.60 2.1.2


def extent_ad(length: int, location: int) -> bytes:
    return EXTENT_AD.pack(length=length, location=location)


def short_ad(length: int, position: int) -> bytes:
    return SHORT_AD.pack(length=length, position=position)


def long_ad(length: int, lbn: int, partition: int, unique_id: int | None = None) -> bytes:
    """With ``unique_id``: the ADImpUse holding the UDF Unique ID (UDF 2.60 2.3.4.3, 2.3.10.1)."""
    use = b"" if unique_id is None else struct.pack("<HI", 0, unique_id & 0xFFFFFFFF)
    return LONG_AD.pack(length=length, lbn=lbn, partition=partition, impl_use=use)


def extents(size: int) -> list[tuple[int, int]]:
    """``(offset in blocks, length in bytes)`` of the allocation descriptors for ``size`` bytes
    recorded contiguously: at most :data:`MAX_EXTENT` bytes each (UDF 2.60 2.3.10)."""
    out, done = [], 0
    while done < size:
        n = min(MAX_EXTENT, size - done)
        out.append((done // BLOCK, n))
        done += n
    return out


def blocks(size: int) -> int:
    return -(-size // BLOCK)
