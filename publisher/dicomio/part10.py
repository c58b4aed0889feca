"""The PS3.10 file header: a 128-byte preamble, ``DICM``, then the File Meta Information
(group 0002), always Explicit VR Little Endian (PS3.10 7.1)."""

from __future__ import annotations

import io

from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset

from publisher.dicomio.vr import LONG_VRS

#: Preamble and prefix (PS3.10 7.1).
HEADER_SIZE = 132
#: SOP Class of a DICOMDIR, the Media Storage Directory Storage (PS3.4 Annex F, PS3.10 8.6).
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


def is_part10(head: bytes) -> bool:
    """Whether ``head`` starts like a PS3.10 file: 128-byte preamble, then ``DICM`` (PS3.10 7.1)."""
    return len(head) >= HEADER_SIZE and head[128:132] == b"DICM"


def meta_end(data: bytes) -> int:
    """Offset of the first byte after group 0002 of a PS3.10 file (its data set's start)."""
    pos = HEADER_SIZE
    while pos + 8 <= len(data):
        if int.from_bytes(data[pos : pos + 2], "little") != 0x0002:
            return pos
        if data[pos + 4 : pos + 6] in LONG_VRS:
            pos += 12 + int.from_bytes(data[pos + 8 : pos + 12], "little")
        else:
            pos += 8 + int.from_bytes(data[pos + 6 : pos + 8], "little")
    return pos


def split_part10(data: bytes) -> tuple[Dataset, int]:
    """The File Meta Information of a PS3.10 file and the offset where the data set starts.
    Raises ``ValueError`` when ``data`` has no ``DICM`` prefix."""
    if not is_part10(data[:HEADER_SIZE]):
        raise ValueError("no DICM preamble")
    end = meta_end(data)
    return read_dataset(io.BytesIO(data[HEADER_SIZE:end]), is_implicit_VR=False, is_little_endian=True), end
