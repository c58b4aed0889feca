"""Issue 12, acceptance 1: every syntax the SCP accepts reaches every medium.

A study holding an Explicit VR Big Endian instance, a 12-bit JPEG Extended (process 4) instance
and a JPEG-LS near-lossless one (made by DCMTK from our samples): on CD every file is Explicit VR
Little Endian, the Big Endian pixels equal the source's, the lossy ones equal DCMTK's own
decoding within 1 and stay marked lossy; on DVD the DICOMDIR is dciodvfy-clean. Real third-party
files (pydicom's test data) check the byte swapping against their Little Endian twins and DCMTK.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, JPEGExtended12Bit, JPEGLSNearLossless

from publisher.demo import samples as S
from publisher.media import master
from publisher.media.preflight import SelectionRefused
from publisher.media.scan import instances_from_files
from publisher.media.transcode.native import swap_bytes
from tests.support import media_builders as builders
from tests.support.media_builders import extract_volume
from tests.support.tools import dciodvfy_errors, require_tool, run

CR = S.StudySpec(S.ASCII_PATIENT, "mixed", "Mixed syntaxes", "20260110", "101010", "ACC-MIX",
                 series=(S.SeriesSpec("cr", 3, 1, "Chest", 96, 80),))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The acceptance study: slice 1 Big Endian, 2 JPEG Extended 12 bit, 3 JPEG-LS near-lossless."""
    require_tool("dcmconv", "dcmcjpeg", "dcmcjpls", "dcmdjpeg", "dcmdjpls")
    folder = tmp_path_factory.mktemp("mixed")
    plain = builders.write(S.build_study(CR), folder / "plain")
    out = {"plain_be": plain[0], "plain_jpeg": plain[1], "plain_jls": plain[2]}
    out["be"], out["jpeg12"], out["jls"] = folder / "be.dcm", folder / "jpeg12.dcm", folder / "jls.dcm"
    run("dcmconv", "+tb", plain[0], out["be"])
    run("dcmcjpeg", "+ee", "+un", plain[1], out["jpeg12"])
    run("dcmcjpls", "+en", "+un", plain[2], out["jls"])
    assert pydicom.dcmread(out["be"]).file_meta.TransferSyntaxUID == ExplicitVRBigEndian
    jpeg = pydicom.dcmread(out["jpeg12"])
    assert jpeg.file_meta.TransferSyntaxUID == JPEGExtended12Bit and jpeg.BitsStored == 12
    assert pydicom.dcmread(out["jls"]).file_meta.TransferSyntaxUID == JPEGLSNearLossless
    # DCMTK's own decoding of the lossy ones: what ours must match within 1
    out["jpeg12_dcmtk"], out["jls_dcmtk"] = folder / "jpeg12.dcmtk.dcm", folder / "jls.dcmtk.dcm"
    run("dcmdjpeg", out["jpeg12"], out["jpeg12_dcmtk"])
    run("dcmdjpls", out["jls"], out["jls_dcmtk"])
    return out


def _files(volume, tmp_path: Path) -> dict[str, pydicom.Dataset]:  # type: ignore[no-untyped-def]
    root = extract_volume(volume, tmp_path / "x")
    return {str(ds.SOPInstanceUID): ds for ds in (pydicom.dcmread(p) for p in (root / "DICOM").rglob("I*") if p.is_file())}


def _within(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int64) - b.astype(np.int64)).max())


def test_cd_gets_explicit_little_endian_with_equal_pixels_and_lossy_marks(mixed, tmp_path: Path) -> None:
    sources = [mixed["be"], mixed["jpeg12"], mixed["jls"]]
    (vol,) = master(builders.read(sources), "cd", tmp_path / "out")
    files = _files(vol, tmp_path)
    assert {str(ds.file_meta.TransferSyntaxUID) for ds in files.values()} == {ExplicitVRLittleEndian}

    be_source = pydicom.dcmread(mixed["be"])
    on_cd = files[str(be_source.SOPInstanceUID)]
    assert np.array_equal(on_cd.pixel_array, pydicom.dcmread(mixed["plain_be"]).pixel_array)
    assert np.array_equal(on_cd.pixel_array, be_source.pixel_array)
    for kw in ("PatientName", "Rows", "Columns", "BitsStored", "PixelSpacing", "ImagerPixelSpacing", "InstanceNumber"):
        assert on_cd[kw].value == be_source[kw].value, kw  # US, DS, IS, PN values equal after re-encoding

    for key in ("jpeg12", "jls"):
        source = pydicom.dcmread(mixed[key])
        ds = files[str(source.SOPInstanceUID)]
        assert _within(ds.pixel_array, pydicom.dcmread(mixed[f"{key}_dcmtk"]).pixel_array) <= 1, key
        assert ds.LossyImageCompression == "01", key
        assert ds.LossyImageCompressionRatio == source.LossyImageCompressionRatio  # kept as DCMTK wrote it
        assert ds.LossyImageCompressionMethod == source.LossyImageCompressionMethod
    assert dciodvfy_errors(vol.root / "DICOMDIR") == []
    require_tool("dcmmkdir")  # DCMTK refuses files that do not fit STD-GEN-CD
    run("dcmmkdir", "-Pgp", "--output-file", tmp_path / "DICOMDIR.dcmtk", "+id", tmp_path / "x", "+r", "-q", "DICOM")


def test_dvd_dicomdir_of_the_mixed_study_is_dciodvfy_clean(mixed, tmp_path: Path) -> None:
    sources = [mixed["be"], mixed["jpeg12"], mixed["jls"]]
    (vol,) = master(builders.read(sources), "dvd", tmp_path / "out", profile="STD-GEN-DVD-JPEG")
    assert dciodvfy_errors(vol.root / "DICOMDIR") == []
    records = [r for r in pydicom.dcmread(vol.root / "DICOMDIR").DirectoryRecordSequence if "ReferencedFileID" in r]
    ratios = [r.LossyImageCompressionRatio for r in records if "LossyImageCompressionRatio" in r]
    assert ratios and all(isinstance(float(v), float) for v in ratios)  # a number, not a Python repr
    syntaxes = {r.ReferencedSOPInstanceUIDInFile: r.ReferencedTransferSyntaxUIDInFile for r in records}
    assert syntaxes[pydicom.dcmread(mixed["jpeg12"]).SOPInstanceUID] == JPEGExtended12Bit  # allowed: kept
    assert syntaxes[pydicom.dcmread(mixed["jls"]).SOPInstanceUID] == ExplicitVRLittleEndian
    require_tool("dcmmkdir")
    root = extract_volume(vol, tmp_path / "x")
    run("dcmmkdir", "-Pdv", "--output-file", tmp_path / "DICOMDIR.dcmtk", "+id", root, "+r", "-q", "DICOM")


@pytest.mark.parametrize("big, little", [("MR_small_bigendian.dcm", "MR_small.dcm"), ("MR_small_expb.dcm", "MR_small.dcm"),
                                         ("SC_rgb_small_odd_big_endian.dcm", "SC_rgb_small_odd.dcm")])
def test_third_party_big_endian_files_equal_their_little_endian_twins(big: str, little: str, tmp_path: Path) -> None:
    (vol,) = master(instances_from_files([Path(get_testdata_file(big))]), "cd", tmp_path / "out")
    (ds,) = _files(vol, tmp_path).values()
    twin = pydicom.dcmread(get_testdata_file(little))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.PixelData == twin.PixelData
    assert np.array_equal(ds.pixel_array, twin.pixel_array)


def test_32_bit_big_endian_pixels_are_swapped_per_word_as_dcmtk_does(tmp_path: Path) -> None:
    """PS3.5 7.3: OW is swapped per 16-bit word whatever Bits Allocated; DCMTK and GDCM agree."""
    require_tool("dcmconv")
    source = Path(get_testdata_file("rtdose_expb_1frame.dcm"))
    run("dcmconv", "+te", source, tmp_path / "dcmtk.dcm")
    (vol,) = master(instances_from_files([source]), "cd", tmp_path / "out")
    (ds,) = _files(vol, tmp_path).values()
    assert ds.PixelData == pydicom.dcmread(tmp_path / "dcmtk.dcm").PixelData
    assert ds.DoseGridScaling == pydicom.dcmread(source).DoseGridScaling


def test_swap_bytes_reverses_each_word() -> None:
    assert swap_bytes(b"\x01\x02\x03\x04", 2) == b"\x02\x01\x04\x03"
    assert swap_bytes(b"\x01\x02\x03\x04\x05\x06\x07\x08", 4) == b"\x04\x03\x02\x01\x08\x07\x06\x05"
    assert swap_bytes(b"\x01\x02\x03", 2) == b"\x02\x01\x03"


def _video(folder: Path) -> Path:
    """A multi-frame instance in MPEG-2 MP@ML (the stream is not decoded by anyone here)."""
    ds = S.build_study(S.StudySpec(S.ASCII_PATIENT, "video", "Endoscopy", series=(S.SeriesSpec("cr", 1, 1),)))[0]
    ds = S.as_file(ds)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"
    ds.NumberOfFrames = 2
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + b"\0" * 60])
    ds["PixelData"].VR = "OB"
    path = folder / "video.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_video_on_a_profile_that_cannot_hold_it_is_refused_naming_those_that_can(tmp_path: Path) -> None:
    video = _video(tmp_path)
    with pytest.raises(SelectionRefused) as err:
        master(builders.read([video]), "dvd", tmp_path / "out")
    assert "STD-GEN-BD-MPEG2-MPML" in str(err.value) and "MPEG2" in str(err.value)
    assert not list((tmp_path / "out").glob("*.iso"))  # nothing mastered
    (vol,) = master(builders.read([video]), "bd", tmp_path / "bd", profile="STD-GEN-BD-MPEG2-MPML")
    assert [f.source for f in vol.files if f.sop_instance_uid] == [video.absolute()]  # stored as received


def test_a_file_no_decoder_can_read_names_the_instance_and_every_decoder(tmp_path: Path) -> None:
    ds: Dataset = S.as_file(S.build_study(CR)[0])
    ds.file_meta.TransferSyntaxUID = JPEGLSNearLossless
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xf7 not a JPEG-LS stream"])
    ds["PixelData"].VR = "OB"
    bad = tmp_path / "bad.dcm"
    ds.save_as(bad, enforce_file_format=True)
    with pytest.raises(SelectionRefused) as err:
        master(builders.read([bad]), "cd", tmp_path / "out")
    (p,) = err.value.problems
    assert p.sop_instance_uid == ds.SOPInstanceUID and "Smith" in p.what
    assert "pyjpegls" in p.reason and "dcmtk" in p.reason
