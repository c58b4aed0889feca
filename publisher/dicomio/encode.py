"""Element encoding, little endian (PS3.5 7.1): explicit VR for group 0002 and media files,
implicit VR for DIMSE command sets (PS3.7 6.3.1).

These run once per received instance (file meta) and per DIMSE response, where pydicom's
general writer costs more than the rest of the work; they are plain ``struct`` packing.
"""

from __future__ import annotations

import struct

from publisher.dicomio.vr import LONG_VR_NAMES


_SHORT = struct.Struct("<HH2sH").pack
_LONG = struct.Struct("<HH2s2xI").pack
_IMPLICIT = struct.Struct("<HHI").pack


def explicit_header(tag: int, vr: str, length: int) -> bytes:
    """The header of an explicit VR little endian element (PS3.5 7.1.2): a 2-byte length, or two
    reserved bytes and a 4-byte length for the VRs of :data:`~.vr.LONG_VRS`. Raises
    ``ValueError`` when ``length`` does not fit a 2-byte length."""
    if vr in LONG_VR_NAMES:
        return _LONG(tag >> 16, tag & 0xFFFF, vr.encode("ascii"), length)
    if length > 0xFFFF:
        raise ValueError(f"value of ({tag >> 16:04X},{tag & 0xFFFF:04X}) too long for VR {vr}")
    return _SHORT(tag >> 16, tag & 0xFFFF, vr.encode("ascii"), length)


def explicit_element(tag: int, vr: str, value: bytes) -> bytes:
    """An explicit VR little endian element of already encoded, even-length ``value``."""
    if vr in LONG_VR_NAMES:
        return _LONG(tag >> 16, tag & 0xFFFF, vr.encode("ascii"), len(value)) + value
    if len(value) > 0xFFFF:
        raise ValueError(f"value of ({tag >> 16:04X},{tag & 0xFFFF:04X}) too long for VR {vr}")
    return _SHORT(tag >> 16, tag & 0xFFFF, vr.encode("ascii"), len(value)) + value


def implicit_element(tag: int, value: bytes) -> bytes:
    """An implicit VR little endian element (PS3.5 7.1.3; command sets, PS3.7 6.3.1)."""
    return _IMPLICIT(tag >> 16, tag & 0xFFFF, len(value)) + value


def uid_value(value: str | bytes) -> bytes:
    """A UI value padded to even length with NUL (PS3.5 9.1); bytes are kept as given (a UID
    echoed as received)."""
    raw = value if isinstance(value, bytes) else value.encode("ascii", "replace")
    return raw + b"\0" if len(raw) % 2 else raw


def ascii_value(value: str) -> bytes:
    """A text value of the default repertoire (AE, CS, SH, LO of ASCII) padded with a space
    to even length (PS3.5 6.2); characters outside ASCII become ``?``."""
    raw = value.encode("ascii", "replace")
    return raw + b" " if len(raw) % 2 else raw
