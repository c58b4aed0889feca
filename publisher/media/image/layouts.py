"""Descriptor layouts of ISO 9660 (ECMA-119) and UDF (ECMA-167 3rd edition, OSTA UDF 2.60), as a table.

Each :class:`Layout` names its fields in recorded order with a struct code, so a descriptor is
written by one ``struct`` call and read back (in tests) by the same table:

* ``B``/``H``/``I``/``Q`` little-endian unsigned 8/16/32/64 bit (ECMA-119 7.1.1, 7.2.1, 7.3.1;
  ECMA-167 1/7.1.1-7.1.5); ``h`` signed 16 bit (ECMA-167 1/7.1.4, timestamps);
* ``>H``/``>I`` big-endian only (ECMA-119 7.2.2, 7.3.2: the M path table);
* ``=H``/``=I`` both byte orders, LE then BE (ECMA-119 7.2.3, 7.3.3);
* ``Ns`` N bytes (zero padded): identifiers and nested structures packed beforehand.

Fields not given are recorded as their default (zero, empty bytes, or the value in the table).
The field order and widths are those of the standards' tables; the sums are checked at import.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any


def _swap16(v: int) -> int:
    return ((v & 0xFF) << 8) | (v >> 8)


def _swap32(v: int) -> int:
    return ((v & 0xFF) << 24) | ((v & 0xFF00) << 8) | ((v >> 8) & 0xFF00) | (v >> 24)


_CODES = {"B": "B", "H": "H", "I": "I", "Q": "Q", "h": "h", ">H": "H", ">I": "I", "=H": "HH", "=I": "II"}
_VALUES = {">H": "_swap16({0})", ">I": "_swap32({0})", "=H": "{0}, _swap16({0})", "=I": "{0}, _swap32({0})"}


@dataclass(frozen=True)
class Layout:
    """One descriptor: ``fields`` are ``(name, code)`` or ``(name, code, default)``.

    ``pack(**fields)`` records it; it is compiled once from the table into a function whose
    keyword-only parameters are the fields (so an unknown field name is a ``TypeError``)."""

    name: str
    ref: str  #: where the layout is defined (standard, section)
    fields: tuple[tuple[Any, ...], ...]
    size: int = 0  #: expected fixed size in bytes (checked)
    pack: Callable[..., bytes] = field(init=False, repr=False, compare=False)
    _struct: struct.Struct = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fmt, params, values = "<", [], []
        for spec in self.fields:
            name, code = spec[0], spec[1]
            default: Any = spec[2] if len(spec) > 2 else (0 if code in _CODES else b"")
            fmt += _CODES.get(code, code)
            params.append(f"{name}={default!r}")
            values.append(_VALUES.get(code, "{0}").format(name))
        packer = struct.Struct(fmt)
        namespace: dict[str, Any] = {"_pack": packer.pack, "_swap16": _swap16, "_swap32": _swap32}
        exec(f"def pack(*, {', '.join(params)}):\n    return _pack({', '.join(values)})\n", namespace)  # noqa: S102
        object.__setattr__(self, "_struct", packer)
        object.__setattr__(self, "pack", namespace["pack"])
        if self.size and packer.size != self.size:
            raise AssertionError(f"{self.name}: {packer.size} bytes, {self.ref} says {self.size}")

    @property
    def struct(self) -> struct.Struct:
        """The compiled format (fields in table order; both-endian fields take two values)."""
        return self._struct

    @property
    def length(self) -> int:
        return self._struct.size

    def offset(self, name: str) -> int:
        """Byte offset of field ``name`` from the start of the descriptor."""
        fmt = "<"
        for spec in self.fields:
            if spec[0] == name:
                return struct.calcsize(fmt)
            fmt += _CODES.get(spec[1], spec[1])
        raise KeyError(f"{self.name} has no field {name!r}")

    def unpack(self, data: bytes, offset: int = 0) -> dict[str, Any]:
        """Field name -> value (both-endian fields: the LE value); for tests and read-back."""
        raw = self._struct.unpack_from(data, offset)
        out: dict[str, Any] = {}
        i = 0
        for spec in self.fields:
            name, code = spec[0], spec[1]
            out[name] = _swap16(raw[i]) if code == ">H" else _swap32(raw[i]) if code == ">I" else raw[i]
            i += 2 if code in ("=H", "=I") else 1
        return out


# ------------------------------------------------------------------------------------------
# ECMA-119 (ISO 9660)
# ------------------------------------------------------------------------------------------

#: Primary (type 1) and Supplementary (type 2, Joliet) Volume Descriptor, ECMA-119 8.4 / 8.5.
VOLUME_DESCRIPTOR = Layout("ISO volume descriptor", "ECMA-119 8.4, 8.5", (
    ("type", "B", 1), ("ident", "5s", b"CD001"), ("version", "B", 1), ("flags", "B"),
    ("system_id", "32s"), ("volume_id", "32s"), ("unused1", "8s"), ("space_size", "=I"),
    ("escapes", "32s"), ("set_size", "=H", 1), ("sequence", "=H", 1), ("block_size", "=H", 2048),
    ("path_table_size", "=I"), ("l_path", "I"), ("l_path_optional", "I"), ("m_path", ">I"),
    ("m_path_optional", ">I"), ("root_record", "34s"), ("volume_set_id", "128s"),
    ("publisher_id", "128s"), ("preparer_id", "128s"), ("application_id", "128s"),
    ("copyright_file", "37s"), ("abstract_file", "37s"), ("bibliographic_file", "37s"),
    ("created", "17s"), ("modified", "17s"), ("expires", "17s"), ("effective", "17s"),
    ("structure_version", "B", 1), ("reserved1", "B"), ("application_use", "512s"),
    ("reserved2", "653s"),
), 2048)

#: Volume Descriptor Set Terminator, ECMA-119 8.3.
SET_TERMINATOR = Layout("ISO set terminator", "ECMA-119 8.3", (
    ("type", "B", 255), ("ident", "5s", b"CD001"), ("version", "B", 1), ("reserved", "2041s"),
), 2048)

#: Directory Record without its File Identifier, ECMA-119 9.1.
DIRECTORY_RECORD = Layout("ISO directory record", "ECMA-119 9.1", (
    ("length", "B"), ("ea_length", "B"), ("extent", "=I"), ("size", "=I"), ("recorded", "7s"),
    ("flags", "B"), ("unit_size", "B"), ("gap", "B"), ("volume_sequence", "=H", 1), ("name_length", "B"),
), 33)

#: Path Table Record without its Directory Identifier, ECMA-119 9.4 (L: LE, M: BE).
PATH_RECORD_L = Layout("ISO path record (L)", "ECMA-119 9.4", (
    ("name_length", "B"), ("ea_length", "B"), ("extent", "I"), ("parent", "H"),
), 8)
PATH_RECORD_M = Layout("ISO path record (M)", "ECMA-119 9.4", (
    ("name_length", "B"), ("ea_length", "B"), ("extent", ">I"), ("parent", ">H"),
), 8)

# ------------------------------------------------------------------------------------------
# ECMA-167 3rd edition parts 1-4, OSTA UDF 2.60 section 2
# ------------------------------------------------------------------------------------------

TAG = Layout("descriptor tag", "ECMA-167 3/7.2", (
    ("ident", "H"), ("version", "H"), ("checksum", "B"), ("reserved", "B"), ("serial", "H"),
    ("crc", "H"), ("crc_length", "H"), ("location", "I"),
), 16)
EXTENT_AD = Layout("extent_ad", "ECMA-167 3/7.1", (("length", "I"), ("location", "I")), 8)
SHORT_AD = Layout("short_ad", "ECMA-167 4/14.14.1", (("length", "I"), ("position", "I")), 8)
LONG_AD = Layout("long_ad", "ECMA-167 4/14.14.2", (
    ("length", "I"), ("lbn", "I"), ("partition", "H"), ("impl_use", "6s"),
), 16)
CHARSPEC = Layout("charspec", "ECMA-167 1/7.2.1", (("type", "B"), ("info", "63s")), 64)
TIMESTAMP = Layout("timestamp", "ECMA-167 1/7.3", (
    ("type_tz", "H"), ("year", "h"), ("month", "B"), ("day", "B"), ("hour", "B"), ("minute", "B"),
    ("second", "B"), ("centiseconds", "B"), ("hundreds_of_us", "B"), ("microseconds", "B"),
), 12)
REGID = Layout("regid (EntityID)", "ECMA-167 1/7.4, UDF 2.1.5", (
    ("flags", "B"), ("identifier", "23s"), ("suffix", "8s"),
), 32)
VOLUME_STRUCTURE = Layout("volume structure descriptor", "ECMA-167 2/9.1", (
    ("type", "B"), ("ident", "5s"), ("version", "B", 1), ("data", "2041s"),
), 2048)
AVDP = Layout("Anchor Volume Descriptor Pointer", "ECMA-167 3/10.2", (
    ("tag", "16s"), ("main", "8s"), ("reserve", "8s"), ("reserved", "480s"),
), 512)
PVD = Layout("Primary Volume Descriptor", "ECMA-167 3/10.1, UDF 2.2.2", (
    ("tag", "16s"), ("vds_number", "I"), ("pvd_number", "I"), ("volume_id", "32s"),
    ("volume_sequence", "H", 1), ("max_volume_sequence", "H", 1), ("interchange", "H", 2),
    ("max_interchange", "H", 2), ("charset_list", "I", 1), ("max_charset_list", "I", 1),
    ("volume_set_id", "128s"), ("descriptor_charset", "64s"), ("explanatory_charset", "64s"),
    ("abstract", "8s"), ("copyright", "8s"), ("application_id", "32s"), ("recorded", "12s"),
    ("implementation_id", "32s"), ("implementation_use", "64s"), ("predecessor", "I"),
    ("flags", "H"), ("reserved", "22s"),
), 512)
IUVD = Layout("Implementation Use Volume Descriptor", "ECMA-167 3/10.4, UDF 2.2.7", (
    ("tag", "16s"), ("vds_number", "I"), ("implementation_id", "32s"), ("lvi_charset", "64s"),
    ("logical_volume_id", "128s"), ("lv_info1", "36s"), ("lv_info2", "36s"), ("lv_info3", "36s"),
    ("lvi_implementation_id", "32s"), ("lvi_use", "128s"),
), 512)
PD = Layout("Partition Descriptor", "ECMA-167 3/10.5, UDF 2.2.14", (
    ("tag", "16s"), ("vds_number", "I"), ("flags", "H", 1), ("number", "H"), ("contents", "32s"),
    ("contents_use", "128s"), ("access_type", "I"), ("start", "I"), ("length", "I"),
    ("implementation_id", "32s"), ("implementation_use", "128s"), ("reserved", "156s"),
), 512)
LVD = Layout("Logical Volume Descriptor (without maps)", "ECMA-167 3/10.6, UDF 2.2.4", (
    ("tag", "16s"), ("vds_number", "I"), ("descriptor_charset", "64s"), ("logical_volume_id", "128s"),
    ("block_size", "I", 2048), ("domain_id", "32s"), ("contents_use", "16s"), ("map_table_length", "I"),
    ("map_count", "I"), ("implementation_id", "32s"), ("implementation_use", "128s"),
    ("integrity_extent", "8s"),
), 440)
PARTITION_MAP_1 = Layout("Type 1 Partition Map", "ECMA-167 3/10.7.2", (
    ("type", "B", 1), ("length", "B", 6), ("volume_sequence", "H", 1), ("partition", "H"),
), 6)
PARTITION_MAP_METADATA = Layout("Metadata Partition Map", "UDF 2.60 2.2.10", (
    ("type", "B", 2), ("length", "B", 64), ("reserved1", "2s"), ("partition_type_id", "32s"),
    ("volume_sequence", "H", 1), ("partition", "H"), ("metadata_file", "I"), ("mirror_file", "I"),
    ("bitmap_file", "I", 0xFFFFFFFF), ("allocation_unit", "I"), ("alignment_unit", "H"), ("flags", "B"),
    ("reserved2", "5s"),
), 64)
USD = Layout("Unallocated Space Descriptor", "ECMA-167 3/10.8", (
    ("tag", "16s"), ("vds_number", "I"), ("count", "I"),
), 24)
TD = Layout("Terminating Descriptor", "ECMA-167 3/10.9, 4/14.2", (("tag", "16s"), ("reserved", "496s")), 512)
LVID = Layout("Logical Volume Integrity Descriptor (fixed part)", "ECMA-167 3/10.10, UDF 2.2.6", (
    ("tag", "16s"), ("recorded", "12s"), ("integrity_type", "I", 1), ("next_extent", "8s"),
    ("contents_use", "32s"), ("partitions", "I"), ("iu_length", "I"),
), 80)
LVID_IMPLEMENTATION_USE = Layout("LVID Implementation Use", "UDF 2.60 2.2.6.4", (
    ("implementation_id", "32s"), ("files", "I"), ("directories", "I"), ("min_read", "H"),
    ("min_write", "H"), ("max_write", "H"),
), 46)
LOGICAL_VOLUME_HEADER = Layout("Logical Volume Header Descriptor", "ECMA-167 4/14.15, UDF 3.2.1", (
    ("unique_id", "Q"), ("reserved", "24s"),
), 32)
FSD = Layout("File Set Descriptor", "ECMA-167 4/14.1, UDF 2.3.2", (
    ("tag", "16s"), ("recorded", "12s"), ("interchange", "H", 3), ("max_interchange", "H", 3),
    ("charset_list", "I", 1), ("max_charset_list", "I", 1), ("file_set_number", "I"),
    ("fsd_number", "I"), ("lvi_charset", "64s"), ("logical_volume_id", "128s"), ("fs_charset", "64s"),
    ("file_set_id", "32s"), ("copyright_file", "32s"), ("abstract_file", "32s"), ("root_icb", "16s"),
    ("domain_id", "32s"), ("next_extent", "16s"), ("stream_directory_icb", "16s"), ("reserved", "32s"),
), 512)
ICB_TAG = Layout("ICB tag", "ECMA-167 4/14.6, UDF 2.3.5", (
    ("prior_entries", "I"), ("strategy", "H", 4), ("strategy_parameter", "2s"), ("max_entries", "H", 1),
    ("reserved", "B"), ("file_type", "B"), ("parent", "6s"), ("flags", "H"),
), 20)
FILE_ENTRY = Layout("File Entry (fixed part)", "ECMA-167 4/14.9, UDF 2.3.6", (
    ("tag", "16s"), ("icb_tag", "20s"), ("uid", "I", 0xFFFFFFFF), ("gid", "I", 0xFFFFFFFF),
    ("permissions", "I"), ("link_count", "H", 1), ("record_format", "B"), ("record_display", "B"),
    ("record_length", "I"), ("info_length", "Q"), ("blocks_recorded", "Q"), ("accessed", "12s"),
    ("modified", "12s"), ("attributes", "12s"), ("checkpoint", "I", 1), ("ea_icb", "16s"),
    ("implementation_id", "32s"), ("unique_id", "Q"), ("ea_length", "I"), ("ad_length", "I"),
), 176)
EXTENDED_FILE_ENTRY = Layout("Extended File Entry (fixed part)", "ECMA-167 4/14.17, UDF 2.3.6", (
    ("tag", "16s"), ("icb_tag", "20s"), ("uid", "I", 0xFFFFFFFF), ("gid", "I", 0xFFFFFFFF),
    ("permissions", "I"), ("link_count", "H", 1), ("record_format", "B"), ("record_display", "B"),
    ("record_length", "I"), ("info_length", "Q"), ("object_size", "Q"), ("blocks_recorded", "Q"),
    ("accessed", "12s"), ("modified", "12s"), ("created", "12s"), ("attributes", "12s"),
    ("checkpoint", "I", 1), ("reserved", "I"), ("ea_icb", "16s"), ("stream_icb", "16s"),
    ("implementation_id", "32s"), ("unique_id", "Q"), ("ea_length", "I"), ("ad_length", "I"),
), 216)
FILE_IDENTIFIER = Layout("File Identifier Descriptor (fixed part)", "ECMA-167 4/14.4, UDF 2.3.4", (
    ("tag", "16s"), ("version", "H", 1), ("characteristics", "B"), ("name_length", "B"),
    ("icb", "16s"), ("iu_length", "H"),
), 38)

#: Every layout, by name: the table the image writer and its tests read.
LAYOUTS: dict[str, Layout] = {x.name: x for x in (
    VOLUME_DESCRIPTOR, SET_TERMINATOR, DIRECTORY_RECORD, PATH_RECORD_L, PATH_RECORD_M, TAG, EXTENT_AD,
    SHORT_AD, LONG_AD, CHARSPEC, TIMESTAMP, REGID, VOLUME_STRUCTURE, AVDP, PVD, IUVD, PD, LVD,
    PARTITION_MAP_1, PARTITION_MAP_METADATA, USD, TD, LVID, LVID_IMPLEMENTATION_USE,
    LOGICAL_VOLUME_HEADER, FSD, ICB_TAG, FILE_ENTRY, EXTENDED_FILE_ENTRY, FILE_IDENTIFIER,
)}
