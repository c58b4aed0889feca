"""Build :class:`MediaInstance` data by reading PS3.10 files (tests, benches, loose folders).

The service builds MediaInstance from its index instead; this reader exists for files that are
not in the index (and to test media without a database). It reads headers only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import pydicom

from publisher.archive import record_keys
from publisher.media.model import MediaInstance


def _s(ds: pydicom.Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value)


def _i(ds: pydicom.Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def instance_from_file(path: Path, *, with_sha256: bool = True) -> MediaInstance:
    """A MediaInstance for the PS3.10 file at ``path`` (header read, pixel data skipped)."""
    path = Path(path).absolute()
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    keys = record_keys.from_json(record_keys.to_json(record_keys.extract(ds)))
    return MediaInstance(
        patient_id=_s(ds, "PatientID"),
        issuer_of_patient_id=_s(ds, "IssuerOfPatientID"),
        patient_name=_s(ds, "PatientName"),
        patient_birth_date=_s(ds, "PatientBirthDate"),
        patient_sex=_s(ds, "PatientSex"),
        study_instance_uid=_s(ds, "StudyInstanceUID"),
        study_date=_s(ds, "StudyDate"),
        study_time=_s(ds, "StudyTime"),
        study_id=_s(ds, "StudyID"),
        accession_number=_s(ds, "AccessionNumber"),
        study_description=_s(ds, "StudyDescription"),
        referring_physician_name=_s(ds, "ReferringPhysicianName"),
        series_instance_uid=_s(ds, "SeriesInstanceUID"),
        modality=_s(ds, "Modality"),
        series_number=_i(ds, "SeriesNumber"),
        series_description=_s(ds, "SeriesDescription"),
        sop_class_uid=_s(ds, "SOPClassUID"),
        sop_instance_uid=_s(ds, "SOPInstanceUID"),
        instance_number=_i(ds, "InstanceNumber"),
        transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
        specific_character_set=_s(ds, "SpecificCharacterSet"),
        path=path,
        size=path.stat().st_size,
        sha256=sha256_file(path) if with_sha256 else "",
        record_keys=keys,
    )


def instances_from_files(paths: Iterable[Path], *, with_sha256: bool = True) -> list[MediaInstance]:
    return [instance_from_file(p, with_sha256=with_sha256) for p in paths]
