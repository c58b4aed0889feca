"""Acceptance 1: the DICOMDIR is standard-clean for strict readers (dciodvfy, DCMTK)."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from publisher.dicomio.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from publisher.dicomio.part10 import MEDIA_STORAGE_DIRECTORY
from publisher.media import MediaError, fileset
from publisher.media.dicomdir import record_type, write_dicomdir
from tests.support.tools import dciodvfy_errors, require_tool, run


def test_dciodvfy_reports_no_error_on_dicomdir(cd_volume) -> None:
    errors = dciodvfy_errors(cd_volume.root / "DICOMDIR")
    assert errors == []


def test_dcmdump_reads_dicomdir_and_dcmftest_accepts_every_file(cd_volume) -> None:
    require_tool("dcmdump", "dcmftest")
    out = run("dcmdump", "-q", cd_volume.root / "DICOMDIR").stdout
    for rtype in ("PATIENT", "STUDY", "SERIES", "IMAGE", "SR DOCUMENT", "KEY OBJECT DOC", "PRESENTATION", "ENCAP DOC"):
        assert f'"Directory Record" {rtype} ' in out
    dicom_files = [str(f.source) for f in cd_volume.files if f.dest.startswith("DICOM/")] + [str(cd_volume.root / "DICOMDIR")]
    proc = run("dcmftest", *dicom_files, check=False)
    assert proc.stdout.count("yes:") == len(dicom_files), proc.stdout


def _item_offsets(raw: bytes) -> set[int]:
    """Offsets of the Item tags of the Directory Record Sequence, found by walking the bytes."""
    pos = raw.index(struct.pack("<HH2sH", 0x0004, 0x1220, b"SQ", 0)) + 12
    offsets = set()
    while pos < len(raw):
        group, elem, length = struct.unpack_from("<HHI", raw, pos)
        assert (group, elem) == (0xFFFE, 0xE000)
        offsets.add(pos)
        pos += 8 + length
    return offsets


def test_every_offset_points_at_a_record(cd_volume) -> None:
    path = cd_volume.root / "DICOMDIR"
    ds = pydicom.dcmread(path)
    items = _item_offsets(path.read_bytes())
    assert len(items) == len(ds.DirectoryRecordSequence)
    first = ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity
    refs = [ds.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity]
    for rec in ds.DirectoryRecordSequence:
        refs += [rec.OffsetOfTheNextDirectoryRecord, rec.OffsetOfReferencedLowerLevelDirectoryEntity]
    reached = [r for r in refs if r]
    assert first in items and all(r in items for r in reached)
    # every record but the first root record is the target of exactly one next/lower offset
    links = [r for r in refs[1:] if r]
    assert sorted(links) == sorted(items - {first})
    assert ds.FileSetConsistencyFlag == 0
    assert all(rec.RecordInUseFlag == 0xFFFF for rec in ds.DirectoryRecordSequence)
    assert ds.file_meta.MediaStorageSOPClassUID == MEDIA_STORAGE_DIRECTORY
    # the one implementation identity, as in received files and associations (PS3.10 7.1)
    assert (ds.file_meta.ImplementationClassUID, ds.file_meta.ImplementationVersionName) == (
        IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian


def test_pydicom_fileset_reads_the_same_hierarchy(cd_volume, tmp_path: Path) -> None:
    from pydicom.fileset import FileSet

    from tests.support.media_builders import extract_volume

    root = extract_volume(cd_volume, tmp_path / "x")
    fs = FileSet(pydicom.dcmread(root / "DICOMDIR"))
    ours = {f.sop_instance_uid for f in cd_volume.files if f.sop_instance_uid}
    assert {i.SOPInstanceUID for i in fs} == ours
    assert fs.ID == cd_volume.file_set_id
    for inst in fs:
        assert fileset.valid_file_id("/".join(Path(inst.FileID).parts))


def test_specific_character_set_only_on_records_with_non_ascii_text(cd_volume) -> None:
    ds = pydicom.dcmread(cd_volume.root / "DICOMDIR")
    names = {}
    for rec in ds.DirectoryRecordSequence:
        text_ascii = all(
            str(e.value).isascii() for e in rec if e.VR in ("PN", "LO", "SH", "LT", "ST", "UT")
        )
        assert ("SpecificCharacterSet" in rec) == (not text_ascii), rec
        if rec.DirectoryRecordType == "PATIENT":
            names[rec.PatientID] = str(rec.PatientName)
    assert names == {"PAT-LAT1": "Müller^Jürgen", "PAT-CYR": "Иванова^Мария", "PAT-CJK": "山田^太郎"}


def test_dcmmkdir_builds_the_same_records_from_our_files(cd_volume, tmp_path: Path) -> None:
    """DCMTK accepts every file for STD-GEN-CD and finds the same records we wrote."""
    require_tool("dcmmkdir", "xorriso")
    from tests.support.media_builders import extract_volume

    root = extract_volume(cd_volume, tmp_path / "x")
    out = tmp_path / "DICOMDIR.dcmtk"
    run("dcmmkdir", "-Pgp", "--output-file", out, "+id", root, "+r", "-q", "DICOM")
    ours = pydicom.dcmread(root / "DICOMDIR")
    theirs = pydicom.dcmread(out)
    def kinds(ds: Dataset) -> list[tuple[str, str]]:
        return sorted((r.DirectoryRecordType, str(r.get("ReferencedSOPInstanceUIDInFile", r.get("SeriesInstanceUID", r.get("StudyInstanceUID", r.get("PatientID")))))) for r in ds.DirectoryRecordSequence)
    assert kinds(ours) == kinds(theirs)


@pytest.mark.parametrize(
    "sop_class, expected",
    [
        ("1.2.840.10008.5.1.4.1.1.2", "IMAGE"),
        ("1.2.840.10008.5.1.4.1.1.88.11", "SR DOCUMENT"),
        ("1.2.840.10008.5.1.4.1.1.88.33", "SR DOCUMENT"),
        ("1.2.840.10008.5.1.4.1.1.88.59", "KEY OBJECT DOC"),
        ("1.2.840.10008.5.1.4.1.1.11.1", "PRESENTATION"),
        ("1.2.840.10008.5.1.4.1.1.104.1", "ENCAP DOC"),
        ("1.2.840.10008.5.1.4.1.1.481.2", "RT DOSE"),
        ("1.2.840.10008.5.1.4.1.1.481.3", "RT STRUCTURE SET"),
        ("1.2.840.10008.5.1.4.1.1.481.5", "RT PLAN"),
        ("1.2.840.10008.5.1.4.1.1.481.4", "RT TREAT RECORD"),
        ("1.2.840.10008.5.1.4.1.1.481.1", "IMAGE"),
        ("1.2.840.10008.5.1.4.1.1.9.1.1", "WAVEFORM"),
        ("1.2.840.10008.5.1.4.1.1.4.2", "SPECTROSCOPY"),
        ("1.2.840.10008.5.1.4.1.1.66", "RAW DATA"),
        ("1.2.840.10008.5.1.4.1.1.66.1", "REGISTRATION"),
        ("1.2.840.10008.5.1.4.1.1.66.4", "IMAGE"),
    ],
)
def test_record_type_of_sop_class(sop_class: str, expected: str) -> None:
    assert record_type(sop_class) == expected


def test_missing_type1_keys_get_documented_defaults(acceptance, tmp_path: Path) -> None:
    from dataclasses import replace

    inst = replace(acceptance[0][0], study_date="", study_time="", study_id="", modality="", series_number=None,
                   instance_number=None)
    ids = fileset.assign_file_ids([inst])
    write_dicomdir(tmp_path / "DICOMDIR", [inst], ids, file_set_id="T")
    recs = {r.DirectoryRecordType: r for r in pydicom.dcmread(tmp_path / "DICOMDIR").DirectoryRecordSequence}
    assert recs["STUDY"].StudyDate == "19000101" and recs["STUDY"].StudyTime == "000000" and recs["STUDY"].StudyID == "0"
    assert recs["SERIES"].Modality == "OT" and recs["SERIES"].SeriesNumber == 0
    assert recs["IMAGE"].InstanceNumber == 1
    assert recs["STUDY"].AccessionNumber is not None  # Type 2 stays present


def test_empty_selection_and_duplicate_patient_ids_are_refused(acceptance, tmp_path: Path) -> None:
    from dataclasses import replace

    with pytest.raises(MediaError):
        write_dicomdir(tmp_path / "DICOMDIR", [], {}, file_set_id="T")
    a = acceptance[0][0]
    b = replace(acceptance[0][-1], patient_id=a.patient_id, issuer_of_patient_id="OTHER")
    with pytest.raises(MediaError, match="Patient ID"):
        write_dicomdir(tmp_path / "DICOMDIR", [a, b], fileset.assign_file_ids([a, b]), file_set_id="T")


def test_dvd_profile_image_records_carry_rows_and_columns(dvd_volume) -> None:
    assert dciodvfy_errors(dvd_volume.root / "DICOMDIR") == []
    ds = pydicom.dcmread(dvd_volume.root / "DICOMDIR")
    images = [r for r in ds.DirectoryRecordSequence if r.DirectoryRecordType == "IMAGE"]
    assert images and all(r.Rows > 0 and r.Columns > 0 for r in images)
