"""Reading discs from elsewhere: our own CD image, a File-set made by DCMTK ``dcmmkdir`` (foreign,
upper-case names), each read from a folder and from ISO images written by pycdlib (Joliet),
``genisoimage`` (plain ISO 9660, ``;1`` names) and ``xorriso`` (Rock Ridge); broken discs."""

from __future__ import annotations

import shutil
import struct

from pathlib import Path

import pydicom
import pytest

from publisher.demo import samples as S
from publisher.media.read.entries import FileSet, ProblemKind
from publisher.media.read.fileset import read_fileset
from publisher.media.read.medium import MediumError, normalise, open_medium
from tests.support.media_builders import extract_volume
from tests.support.foreign_media import foreign_studies, iso_with, write_foreign_fileset

# Patients of "another hospital": their own IDs, no issuer (as most discs come).










@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("foreign") / "disc"
    return root, write_foreign_fileset(root, foreign_studies())


@pytest.fixture(scope="module")
def sources(foreign, cd_volume, tmp_path_factory):  # type: ignore[no-untyped-def]
    """name -> (source path, expected SOP Instance UIDs)."""
    root, written = foreign
    tmp = tmp_path_factory.mktemp("isos")
    ours = {i.sop_instance_uid for i in cd_volume.instances}
    return {
        "ours-iso": (cd_volume.image, ours),
        "ours-folder": (extract_volume(cd_volume, tmp / "ours"), ours),
        "dcmmkdir-folder": (root, set(written)),
        "dcmmkdir-genisoimage": (iso_with("genisoimage", root, tmp / "gen.iso"), set(written)),
        "dcmmkdir-xorriso": (iso_with("xorriso", root, tmp / "xor.iso"), set(written)),
    }


def _read(source: Path) -> FileSet:
    with open_medium(source) as medium:
        return read_fileset(medium)


@pytest.mark.parametrize("name", ["ours-iso", "ours-folder", "dcmmkdir-folder", "dcmmkdir-genisoimage", "dcmmkdir-xorriso"])
def test_every_referenced_file_is_listed_with_its_record_keys(sources, name: str) -> None:  # type: ignore[no-untyped-def]
    source, expected = sources[name]
    with open_medium(source) as medium:
        fs = read_fileset(medium)
        assert fs.problems == [] and not fs.scanned
        assert [normalise(d) for d in fs.dicomdirs] == ["dicomdir"]
        assert {e.sop_instance_uid for e in fs.entries} == expected
        assert len(fs.entries) == len(expected)
        for e in fs.entries:
            # the keys come from the records; the file behind each entry agrees with them
            with medium.open(e.path) as fh:
                ds = pydicom.dcmread(fh, stop_before_pixels=True)  # type: ignore[arg-type]
            assert str(ds.SOPInstanceUID) == e.sop_instance_uid and e.size == medium.lookup(e.path).size  # type: ignore[union-attr]
            assert (str(ds.PatientID), str(ds.PatientName)) == (e.patient_id, e.patient_name)
            assert (str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)) == (e.study_instance_uid, e.series_instance_uid)
            assert e.file_id and e.record_type
    names = {p.patient_name for p in fs.patients()}
    assert S.CYRILLIC_PATIENT.name in names and S.CJK_PATIENT.name in names
    if name.startswith("dcmmkdir"):
        assert fs.file_set_ids == ["KLINIKNORD"]
        by_patient = {p.patient_id: p for p in fs.patients()}
        assert by_patient["12345"].instances == 4 and by_patient["A-77"].instances == 2
        study = next(iter(by_patient["12345"].studies.values()))
        assert study.study_description == "МРТ колена" and sorted(s.modality for s in study.series.values()) == ["DOC", "MR"]


def test_iso_names_keep_their_version_suffix_out_of_the_way(sources) -> None:  # type: ignore[no-untyped-def]
    source, _ = sources["dcmmkdir-genisoimage"]
    with open_medium(source) as medium:
        paths = {f.path for f in medium.files()}
        assert "DICOMDIR" in paths and "IMAGES/P1/S1/I0001" in paths  # "DICOMDIR.;1", "I0001.;1" on the image
        assert medium.lookup("dicomdir.;1") is not None and medium.lookup("images\\p1\\s1\\i0001;1") is not None
    assert normalise("DICOMDIR.;1") == normalise("dicomdir") == "dicomdir"


def test_lower_case_copy_is_read_case_insensitively(foreign, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, written = foreign
    copy = tmp_path / "copy"
    for path in sorted(root.rglob("*")):
        if path.is_file():
            dest = copy / str(path.relative_to(root)).lower()
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
    assert (copy / "dicomdir").is_file() and not (copy / "DICOMDIR").exists()
    fs = _read(copy)
    assert fs.problems == [] and {e.sop_instance_uid for e in fs.entries} == set(written)
    assert all(e.path == e.path.lower() for e in fs.entries)


def _copy(root: Path, dest: Path) -> Path:
    shutil.copytree(root, dest)
    return dest


def test_record_naming_a_missing_file_is_reported_and_the_rest_listed(foreign, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, written = foreign
    disc = _copy(root, tmp_path / "disc")
    gone_uid, gone_rel = sorted(written.items())[1]
    (disc / gone_rel).unlink()
    fs = _read(disc)
    assert [(p.kind, p.where) for p in fs.problems] == [(ProblemKind.MISSING_FILE, gone_rel)]
    assert gone_uid in fs.problems[0].detail
    assert {e.sop_instance_uid for e in fs.entries} == set(written) - {gone_uid}


def test_file_ids_leaving_the_file_set_are_reported_not_read(foreign, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, written = foreign
    disc = _copy(root, tmp_path / "disc")
    (tmp_path / "secret").write_bytes((disc / "IMAGES/P1/S1/I0001").read_bytes())
    # 1. a File ID climbing out with ".." (patched in place: same length, offsets unchanged)
    raw = (disc / "DICOMDIR").read_bytes()
    old, new = b"IMAGES\\P2\\S1\\I0001", b"..\\..\\..\\..\\SECRET"
    assert len(old) == len(new) and raw.count(old) == 1
    (disc / "DICOMDIR").write_bytes(raw.replace(old, new))
    # 2. a file replaced by a link to something outside the medium
    link = disc / "IMAGES/P1/S1/I0002"
    link.unlink()
    link.symlink_to(tmp_path / "secret")
    fs = _read(disc)
    outside = sorted(p.where for p in fs.problems if p.kind is ProblemKind.OUTSIDE_FILESET)
    assert outside == ["../../../../SECRET", "IMAGES/P1/S1/I0002"]
    assert len(fs.problems) == 2
    listed = {e.path for e in fs.entries}
    assert "IMAGES/P1/S1/I0002" not in listed and "IMAGES/P2/S1/I0001" not in listed
    assert len(fs.entries) == len(written) - 2


def test_unreadable_dicomdir_is_reported_and_the_disc_scanned(foreign, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, written = foreign
    disc = _copy(root, tmp_path / "disc")
    (disc / "DICOMDIR").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + b"garbage" * 10)
    fs = _read(disc)
    assert [p.kind for p in fs.problems] == [ProblemKind.UNREADABLE_DICOMDIR]
    assert fs.scanned and {e.sop_instance_uid for e in fs.entries} == set(written)


@pytest.mark.parametrize("form", ["folder", "genisoimage"])
def test_disc_without_dicomdir_is_scanned_for_the_dicm_preamble(foreign, tmp_path: Path, form: str) -> None:  # type: ignore[no-untyped-def]
    root, written = foreign
    disc = _copy(root, tmp_path / "disc")
    (disc / "DICOMDIR").unlink()
    (disc / "README.TXT").write_text("Patient CD\r\n")
    (disc / "VIEWER").mkdir()
    (disc / "VIEWER" / "VIEWER.EXE").write_bytes(b"MZ" + b"\0" * 300)
    source = disc if form == "folder" else iso_with(form, disc, tmp_path / "disc.iso")
    seen: list[tuple[int, int]] = []
    with open_medium(source) as medium:
        fs = read_fileset(medium, progress=lambda d, t, m: seen.append((d, t)))
    assert [p.kind for p in fs.problems] == [ProblemKind.NO_DICOMDIR]
    assert fs.scanned and fs.not_dicom == 2 and fs.dicomdirs == []
    assert {e.sop_instance_uid for e in fs.entries} == set(written)
    assert seen[-1] == (len(written) + 2, len(written) + 2)
    by_patient = {p.patient_id: p for p in fs.patients()}
    assert by_patient["12345"].patient_name == "Иванова^Мария" and by_patient["A-77"].patient_name == "山田^太郎"
    assert by_patient["12345"].instances == 4


def test_dicomdir_naming_no_file_here_is_reported_and_the_disc_scanned(foreign, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, written = foreign
    disc = _copy(root, tmp_path / "disc")
    (disc / "IMAGES").rename(disc / "PICTURES")  # renamed by whoever copied the disc
    fs = _read(disc)
    kinds = [p.kind for p in fs.problems]
    assert kinds == [ProblemKind.MISSING_FILE] * (len(written) + 1)
    assert "found by scanning" in fs.problems[-1].detail
    assert fs.scanned and {e.sop_instance_uid for e in fs.entries} == set(written)


def test_broken_root_offset_falls_back_to_sequence_order(foreign, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, written = foreign
    disc = _copy(root, tmp_path / "disc")
    raw = bytearray((disc / "DICOMDIR").read_bytes())
    tag = b"\x04\x00\x00\x12UL\x04\x00"  # (0004,1200) Offset of the First Directory Record of the Root
    at = raw.index(tag) + len(tag)
    struct.pack_into("<I", raw, at, 12345)  # counted from somewhere else
    (disc / "DICOMDIR").write_bytes(bytes(raw))
    fs = _read(disc)
    assert [p.kind for p in fs.problems] == [ProblemKind.BROKEN_OFFSETS]
    assert {e.sop_instance_uid for e in fs.entries} == set(written)
    files = {uid: rel for uid, rel in written.items()}
    for e in fs.entries:  # the hierarchy still comes right: each file under its own patient
        ds = pydicom.dcmread(disc / files[e.sop_instance_uid], stop_before_pixels=True)
        assert e.patient_id == ds.PatientID and e.series_instance_uid == ds.SeriesInstanceUID


def test_other_files_are_no_medium(tmp_path: Path) -> None:
    text = tmp_path / "notes.iso"
    text.write_text("not an image")
    with pytest.raises(MediumError, match="neither a folder nor an ISO 9660 image"):
        open_medium(text)
    with pytest.raises(MediumError, match="no such folder"):
        open_medium(tmp_path / "absent")
