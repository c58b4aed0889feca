"""Issue 12, acceptance 6: lossless compression to fit, where the profile allows it.

The same CT study on a DVD-J2K profile needs fewer discs with ``compress``; every image on the
discs is JPEG 2000 lossless and decodes to exactly the stored pixels; DCMTK's dcmmkdir accepts the
File-set for STD-GEN-DVD-J2K. On a JPEG profile the lossless syntax is JPEG lossless SV1; on CD,
which allows no compression, nothing changes. Sizes are scaled down with ``capacity`` (the plan
counts the compressed sizes the same way for a real 4.7 GB disc; bench/compress.py does 2 GB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, JPEGLosslessSV1

from publisher.demo import samples as S
from publisher.media import master
from tests.support import media_builders as builders
from tests.support.media_builders import extract_volume
from tests.support.tools import dciodvfy_errors, require_tool, run

CT = S.StudySpec(S.CYRILLIC_PATIENT, "bigct", "КТ грудной клетки", "20260111", "090000", "ACC-CT",
                 series=(S.SeriesSpec("ct", 24, 1, "Axial", 256, 256), S.SeriesSpec("mr", 6, 2, "Scout", 128, 128)))
CAPACITY = 3_600_000  # 1.6 MB for DICOM files after the volume overhead: 3 volumes uncompressed, 1 compressed


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return builders.write(S.build_study(CT), tmp_path_factory.mktemp("bigct"))


def _on_discs(volumes, tmp_path: Path) -> dict[str, pydicom.Dataset]:  # type: ignore[no-untyped-def]
    out = {}
    for v in volumes:
        root = extract_volume(v, tmp_path / v.file_set_id)
        out |= {str(ds.SOPInstanceUID): ds for ds in (pydicom.dcmread(p) for p in (root / "DICOM").rglob("I*") if p.is_file())}
    return out


def test_compression_on_dvd_j2k_needs_fewer_discs_and_keeps_every_pixel(study: list[Path], tmp_path: Path) -> None:
    plain = master(builders.read(study), "dvd", tmp_path / "plain", profile="STD-GEN-DVD-J2K", capacity=CAPACITY)
    packed = master(builders.read(study), "dvd", tmp_path / "packed", profile="STD-GEN-DVD-J2K", capacity=CAPACITY,
                    compress=True)
    assert len(packed) < len(plain), (len(packed), len(plain))
    files = _on_discs(packed, tmp_path / "x")
    assert len(files) == len(study)
    for path in study:
        source = pydicom.dcmread(path)
        ds = files[str(source.SOPInstanceUID)]
        assert ds.file_meta.TransferSyntaxUID == JPEG2000Lossless
        assert np.array_equal(ds.pixel_array, source.pixel_array)
        assert "LossyImageCompression" not in ds or ds.LossyImageCompression == "00"
    (vol,) = packed
    records = [r for r in pydicom.dcmread(vol.root / "DICOMDIR").DirectoryRecordSequence if "ReferencedFileID" in r]
    assert {r.ReferencedTransferSyntaxUIDInFile for r in records} == {JPEG2000Lossless}
    assert sum(i.size for i in vol.instances) < 0.7 * sum(p.stat().st_size for p in study)
    assert dciodvfy_errors(vol.root / "DICOMDIR") == []
    require_tool("dcmmkdir")  # DCMTK checks every file against STD-GEN-DVD-J2K
    run("dcmmkdir", "-Pd2", "--output-file", tmp_path / "DICOMDIR.dcmtk", "+id", tmp_path / "x" / vol.file_set_id,
        "+r", "-q", "DICOM")


def test_jpeg_profiles_compress_with_jpeg_lossless_and_cd_never_compresses(study: list[Path], tmp_path: Path) -> None:
    (vol,) = master(builders.read(study[:3]), "bd", tmp_path / "bd", profile="STD-GEN-BD-JPEG", compress=True)
    files = _on_discs([vol], tmp_path / "x")
    for path in study[:3]:
        source = pydicom.dcmread(path)
        ds = files[str(source.SOPInstanceUID)]
        assert ds.file_meta.TransferSyntaxUID == JPEGLosslessSV1
        assert np.array_equal(ds.pixel_array, source.pixel_array)
    require_tool("dcmmkdir")
    run("dcmmkdir", "-Pbd", "--output-file", tmp_path / "DICOMDIR.dcmtk", "+id", tmp_path / "x" / vol.file_set_id,
        "+r", "-q", "DICOM")
    (cd,) = master(builders.read(study[:3]), "cd", tmp_path / "cd", compress=True)
    assert {i.transfer_syntax_uid for i in cd.instances} == {ExplicitVRLittleEndian}
    assert [f.source for f in cd.files if f.sop_instance_uid] == [p.absolute() for p in study[:3]]  # as stored
