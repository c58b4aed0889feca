"""Native encodings to Explicit VR Little Endian (PS3.5 A.1-A.3, A.5): values stay equal.

pydicom parses numbers (US, SS, UL, SL, FL, FD, AT, ...) and text whatever the byte order, so
writing them little endian re-encodes them; the byte strings of the "other" VRs are swapped
here, per PS3.5 7.3 ("OW ... requires byte swapping within each word when changing byte
ordering"; OL/OF 4-byte, OD/OV 8-byte units). Pixel Data of Bits Allocated 32 or 64 in OW is
swapped per 16-bit word as well, as DCMTK's ``dcmconv +te`` and GDCM's ``gdcmconv -w`` do: the
VR, not the pixel cell, defines the unit. UN values are copied (their byte order cannot be
known; PS3.5 6.2.2 note), as both toolkits do.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian

#: Bytes per swap unit of the binary VRs held as byte strings.
SWAP_UNIT: dict[str, int] = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def swap_bytes(value: bytes, unit: int) -> bytes:
    """``value`` with the byte order of every ``unit``-byte word reversed (a trailing partial
    word, which a valid value never has, is kept as it is)."""
    whole = len(value) - len(value) % unit
    out = bytearray(value)
    for k in range(unit):
        out[k:whole:unit] = value[unit - 1 - k:whole:unit]
    return bytes(out)


def big_to_little(ds: Dataset) -> None:
    """Swap, in place and in every nested sequence item, the byte-string values of ``ds`` (read
    from Explicit VR Big Endian) so that writing it little endian keeps every value equal."""
    for elem in ds:  # iterating converts raw elements, so VRs are resolved
        if elem.VR == "SQ":
            for item in elem.value:
                big_to_little(item)
            continue
        unit = SWAP_UNIT.get(elem.VR)
        if unit and isinstance(elem.value, (bytes, bytearray)) and elem.value:
            elem.value = swap_bytes(bytes(elem.value), unit)


def is_big_endian(ts: str) -> bool:
    return ts == ExplicitVRBigEndian
