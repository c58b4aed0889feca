"""The image's blocks are reserved up front (``fallocate``, issue 19): what the peers read back
is every file's bytes, the padding reads as zeros, and the image is the same as one written
where the file system cannot reserve (blocks allocated as the data arrives)."""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

import pytest

from publisher.media.image import writer
from publisher.media.image.allocation import allocate
from publisher.media.image.tree import build
from publisher.media.iso import write_image
from publisher.media.model import DiscFile
from tests.support.image_readers import extract_image
from tests.support.media_builders import disc_files

WHEN = datetime(2026, 1, 2, 3, 4, 5)


def _files(tmp_path: Path) -> tuple[list[DiscFile], dict[str, bytes]]:
    # small files gathered into one write, large ones copied by the kernel, sizes off the sector
    sizes = {"DICOMDIR": 3001, "README.TXT": 17, "DICOM/P1/S1/IM1": 700_001, "DICOM/P1/S1/IM2": 65_537,
             "DICOM/P1/S1/IM3": 2048, "DICOM/P1/S2/IM1": 1_300_000, "DICOM/P2/S1/IM1": 0}
    content = {dest: os.urandom(n) for dest, n in sizes.items()}
    return disc_files(tmp_path, content), content


@pytest.mark.parametrize("udf,handlers", [("2.60", ("udf", "iso")), ("1.02", ("udf", "iso")), (None, ("iso",))])
def test_reserved_image_reads_back_every_byte_and_zero_padding(udf: str | None, handlers: tuple[str, ...],
                                                               tmp_path: Path) -> None:
    files, content = _files(tmp_path)
    img = tmp_path / "v.iso"
    size = write_image(files, img, volume_id="RESERVE", udf=udf, when=WHEN)
    assert img.stat().st_size == size
    for handler in handlers:  # 7-Zip's UDF and ISO 9660 readers, each file's bytes
        root = extract_image(img, handler, tmp_path / handler)
        got = {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
               for p in root.rglob("*") if p.is_file()}
        assert got == {k: hashlib.sha256(v).hexdigest() for k, v in content.items()}
    data = img.read_bytes()
    tree = build(files, ())
    allocate(tree, writer.revision(udf))
    for node in tree.files:  # the data at its sector, then zeros to the sector's end
        assert node.file is not None
        at = node.lba * writer.SECTOR
        assert data[at:at + node.size] == content[node.file.dest]
        assert not any(data[at + node.size:at + -(-node.size // writer.SECTOR) * writer.SECTOR])
    assert not any(data[:16 * writer.SECTOR])  # the System Area


def test_image_is_the_same_where_blocks_cannot_be_reserved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, _ = _files(tmp_path)
    reserved, unreserved = tmp_path / "a.iso", tmp_path / "b.iso"
    write_image(files, reserved, volume_id="RESERVE", udf="1.02", when=WHEN)
    monkeypatch.setattr(writer, "_FALLOCATE", None)
    write_image(files, unreserved, volume_id="RESERVE", udf="1.02", when=WHEN)
    a, b = reserved.read_bytes(), unreserved.read_bytes()
    assert len(a) == len(b)
    assert reserved.stat().st_blocks * 512 >= len(a) > unreserved.stat().st_blocks * 512  # reserved; holes
    # same bytes but for the Volume Set Identifier's random part (UDF 2.60 2.2.2.5) and its CRCs
    assert {i // writer.SECTOR for i in range(0, len(a), 64) if a[i:i + 64] != b[i:i + 64]} <= {32, 48}
