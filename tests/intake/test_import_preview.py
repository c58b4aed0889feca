"""Issue 12 item 6: ``import-disc --dry-run`` previews what the import will do.

A DICOMDIR whose records start below the PATIENT level (a flat list of IMAGE records at the root,
as some writers make) used to preview every instance as one patient "-", while the import
filed each by its own header. The preview now reads the headers where the records are missing.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian
from sqlalchemy import select

from publisher.demo import samples as S
from publisher.archive.ingest import Archive
from publisher.cli import main
from publisher.db import migrate
from publisher.db.models import Instance, Patient, Series, Study
from publisher.db.session import Database
from publisher.intake.disc_import import import_disc
from publisher.media.read.fileset import read_fileset
from publisher.media.read.medium import open_medium


def _flat_fileset(root: Path) -> list[Dataset]:
    """Two patients' instances under IMAGES/, and a DICOMDIR of IMAGE records only."""
    datasets: list[Dataset] = []
    for n, patient in enumerate((S.LATIN1_PATIENT, S.CJK_PATIENT)):
        spec = S.StudySpec(patient, f"flat{n}", f"Study {n}", series=(S.SeriesSpec("ct", 2, 1, "Axial", 16, 16),))
        datasets += S.build_study(spec)
    records = []
    for k, ds in enumerate(datasets, start=1):
        path = root / "IMAGES" / f"IM{k:06d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        S.as_file(ds).save_as(path, enforce_file_format=True)
        rec = Dataset()
        rec.OffsetOfTheNextDirectoryRecord = 0
        rec.RecordInUseFlag = 0xFFFF
        rec.OffsetOfReferencedLowerLevelDirectoryEntity = 0
        rec.DirectoryRecordType = "IMAGE"
        rec.ReferencedFileID = ["IMAGES", f"IM{k:06d}"]
        rec.ReferencedSOPClassUIDInFile = ds.SOPClassUID
        rec.ReferencedSOPInstanceUIDInFile = ds.SOPInstanceUID
        rec.ReferencedTransferSyntaxUIDInFile = ExplicitVRLittleEndian
        rec.InstanceNumber = ds.InstanceNumber
        records.append(rec)
    dicomdir = Dataset()
    dicomdir.file_meta = FileMetaDataset()
    dicomdir.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    dicomdir.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    dicomdir.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dicomdir.FileSetID = "FLAT"
    dicomdir.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 0
    dicomdir.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = 0
    dicomdir.FileSetConsistencyFlag = 0
    dicomdir.DirectoryRecordSequence = DicomSequence(records)
    target = root / "DICOMDIR"
    for _ in range(2):  # the second pass writes the offsets the first one found (lengths do not change)
        dicomdir.save_as(target, enforce_file_format=True)
        placed = pydicom.dcmread(target).DirectoryRecordSequence
        at = [int(r.seq_item_tell) for r in placed]
        for rec, nxt in zip(records, at[1:] + [0]):
            rec.OffsetOfTheNextDirectoryRecord = nxt
        dicomdir.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = at[0]
        dicomdir.OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity = at[-1]
    return datasets


def _preview(root: Path) -> set[tuple[str, str, str, int]]:
    with open_medium(root) as medium:
        fileset = read_fileset(medium)
    assert fileset.dicomdirs and not fileset.scanned  # read through the DICOMDIR
    return {(p.patient_id, st.study_instance_uid, se.series_instance_uid, se.instances)
            for p in fileset.patients() for st in p.studies.values() for se in st.series.values()}


def test_preview_of_a_dicomdir_without_patient_records_equals_the_import(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str],
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PUBLISHER_DATA_DIR", "PUBLISHER_DATABASE_URL", "PUBLISHER_DICOM_PORT", "PUBLISHER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    datasets = _flat_fileset(tmp_path / "disc")
    preview = _preview(tmp_path / "disc")
    expected = {(str(ds.PatientID), str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), 2) for ds in datasets}
    assert preview == expected

    db = Database(f"sqlite:///{tmp_path / 'index.db'}")
    migrate.upgrade(db.engine)
    archive = Archive(tmp_path / "archive", db)
    import_disc(tmp_path / "disc", archive)
    with db.session() as s:
        rows = s.execute(select(Patient.patient_id, Study.study_instance_uid, Series.series_instance_uid, Instance.id)
                         .join(Study, Study.patient_fk == Patient.id).join(Series, Series.study_fk == Study.id)
                         .join(Instance, Instance.series_fk == Series.id)).all()
    imported: dict[tuple[str, str, str], int] = {}
    for pid, st, se, _ in rows:
        imported[(pid, st, se)] = imported.get((pid, st, se), 0) + 1
    assert {(*k, v) for k, v in imported.items()} == preview
    db.dispose()

    cfg = tmp_path / "publisher.toml"
    cfg.write_text(f'[service]\ndata_dir = "{tmp_path / "var"}"\nload_samples = false\n', encoding="utf-8")
    assert main(["--config", str(cfg), "import-disc", str(tmp_path / "disc"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"patient {S.LATIN1_PATIENT.patient_id} " in out and f"patient {S.CJK_PATIENT.patient_id} " in out
    assert "patient - " not in out and "2 patient(s), 2 study(ies), 2 series, 4 instance(s)" in out
