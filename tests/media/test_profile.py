"""Acceptance 3: compressed input is transcoded losslessly for profiles that do not allow it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, JPEGLosslessSV1

from publisher.demo import samples as S
from publisher.media import MediaError, master
from publisher.media.profile import PROFILES, profile_for
from publisher.media.model import MediaType
from tests.support import media_builders as builders
from tests.support.media_builders import extract_volume
from tests.support.tools import dciodvfy_errors, require_tool, run

CT = S.StudySpec(S.ASCII_PATIENT, "jpeg", "CT compressed", series=(S.SeriesSpec("ct", 2, 1, "Axial", 64, 64),))
US = S.StudySpec(S.ASCII_PATIENT, "jpeg-us", "US compressed", series=(S.SeriesSpec("us", 1, 1, "Cine", 32, 32),))


@pytest.fixture(scope="module")
def compressed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require_tool("dcmcjpeg", "dcmcjpls", "dcmcrle")
    folder = tmp_path_factory.mktemp("compressed")
    plain = builders.write(S.build_study(CT), folder / "plain")
    us = builders.write(S.build_study(US), folder / "plain-us")
    out = {"plain": plain[0], "plain2": plain[1], "plain_us": us[0]}
    out["jpeg_lossless"] = folder / "jl.dcm"
    run("dcmcjpeg", "+e1", plain[0], out["jpeg_lossless"])  # JPEG Lossless SV1 (lossless switch)
    out["jpeg_ls"] = folder / "jls.dcm"
    run("dcmcjpls", "+el", plain[1], out["jpeg_ls"])  # JPEG-LS lossless
    out["jpeg_baseline"] = folder / "jb.dcm"
    run("dcmcjpeg", "+eb", us[0], out["jpeg_baseline"])  # lossy baseline (8-bit colour)
    assert pydicom.dcmread(out["jpeg_lossless"]).file_meta.TransferSyntaxUID == JPEGLosslessSV1
    return out


def _on_disc(volume, tmp_path: Path) -> dict[str, pydicom.Dataset]:  # type: ignore[no-untyped-def]
    root = extract_volume(volume, tmp_path / "x")
    return {str(ds.SOPInstanceUID): ds for ds in (pydicom.dcmread(p) for p in (root / "DICOM").rglob("I*") if p.is_file())}


def test_jpeg_lossless_on_general_purpose_cd_is_decompressed_pixel_equal(compressed, tmp_path: Path) -> None:
    src = [compressed["jpeg_lossless"], compressed["jpeg_ls"]]
    (vol,) = master(builders.read(src), "cd", tmp_path / "out")
    files = _on_disc(vol, tmp_path)
    for path, plain in zip(src, [compressed["plain"], compressed["plain2"]]):
        original = pydicom.dcmread(plain)
        ds = files[str(original.SOPInstanceUID)]
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert np.array_equal(ds.pixel_array, original.pixel_array)
        assert ds.get("LossyImageCompression", "00") == "00"
    records = pydicom.dcmread(vol.root / "DICOMDIR").DirectoryRecordSequence
    assert {r.ReferencedTransferSyntaxUIDInFile for r in records if "ReferencedFileID" in r} == {ExplicitVRLittleEndian}
    assert dciodvfy_errors(vol.root / "DICOMDIR") == []
    require_tool("dcmmkdir")  # DCMTK refuses files that do not fit STD-GEN-CD: a cross-check of the profile
    run("dcmmkdir", "-Pgp", "--output-file", tmp_path / "DICOMDIR.dcmtk", "+id", tmp_path / "x", "+r", "-q", "DICOM")


def test_dvd_jpeg_keeps_jpeg_lossless_as_received_and_decompresses_jpeg_ls(compressed, tmp_path: Path) -> None:
    src = [compressed["jpeg_lossless"], compressed["jpeg_ls"]]
    (vol,) = master(builders.read(src), "dvd", tmp_path / "out", profile="STD-GEN-DVD-JPEG")
    files = _on_disc(vol, tmp_path)
    kept = pydicom.dcmread(compressed["jpeg_lossless"])
    on_disc = [f for f in vol.files if f.sop_instance_uid == kept.SOPInstanceUID][0]
    assert Path(on_disc.source) == compressed["jpeg_lossless"].absolute()  # stored as received
    assert files[str(kept.SOPInstanceUID)].file_meta.TransferSyntaxUID == JPEGLosslessSV1
    jls = pydicom.dcmread(compressed["jpeg_ls"])
    assert files[str(jls.SOPInstanceUID)].file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    require_tool("dcmmkdir")
    run("dcmmkdir", "-Pdv", "--output-file", tmp_path / "DICOMDIR.dcmtk", "+id", tmp_path / "x", "+r", "-q", "DICOM")


def test_lossy_input_stays_marked_lossy_and_nothing_is_compressed_lossily(compressed, tmp_path: Path) -> None:
    (vol,) = master(builders.read([compressed["jpeg_baseline"]]), "cd", tmp_path / "out")
    ds = next(iter(_on_disc(vol, tmp_path).values()))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.LossyImageCompression == "01"
    # uncompressed input never becomes compressed, whatever the profile
    (vol,) = master(builders.read([compressed["plain"]]), "dvd", tmp_path / "out2", profile="STD-GEN-DVD-J2K")
    assert [f.source for f in vol.files if f.sop_instance_uid] == [compressed["plain"].absolute()]


def test_profiles_and_their_media() -> None:
    assert PROFILES["STD-GEN-CD"].transfer_syntaxes == {ExplicitVRLittleEndian}
    assert profile_for(MediaType.CD).name == "STD-GEN-CD"
    assert profile_for(MediaType.DVD, "STD-GEN-DVD-J2K").allows("1.2.840.10008.1.2.4.90")
    with pytest.raises(MediaError):
        profile_for(MediaType.CD, "STD-GEN-DVD-JPEG")
