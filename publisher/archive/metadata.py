"""What the index keeps of an instance, taken from its header (PS3.3 modules by level)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from publisher.archive import record_keys


class MissingAttribute(ValueError):
    """A Type 1 attribute the archive cannot file an instance without is absent or invalid."""


#: PS3.5 9.1: components of digits without leading zeros (except "0"), separated by dots.
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def text(ds: Dataset, keyword: str, limit: int = 64) -> str:
    """An element's value as decoded text ("" when absent), multi-values joined by backslash."""
    try:
        value: Any = ds.get(tag_for_keyword(keyword))
        if value is not None:
            value = value.value
    except Exception:
        return ""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, MultiValue)):
        value = "\\".join(str(v) for v in value)
    return str(value).strip()[:limit]


def integer(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(tag_for_keyword(keyword))
        value = value.value if value is not None else None
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError, OverflowError):
        return None


def uid(ds: Dataset, keyword: str) -> str:
    """A required UID (PS3.5 9.1): present, at most 64 characters of digits and dots."""
    value = text(ds, keyword, 1000).rstrip("\0")
    if not value:
        raise MissingAttribute(f"{keyword} is missing")
    if len(value) > 64 or _UID.fullmatch(value) is None:
        raise MissingAttribute(f"{keyword} {value!r} is not a valid UID")
    return value


@dataclass(frozen=True)
class InstanceMeta:
    """Index values of one instance, decoded to ``str`` whatever its character set."""

    patient_id: str
    issuer_of_patient_id: str
    patient_name: str
    patient_birth_date: str
    patient_sex: str
    other_patient_ids: str
    study_instance_uid: str
    study_date: str
    study_time: str
    accession_number: str
    study_id: str
    referring_physician_name: str
    study_description: str
    institution_name: str
    series_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    body_part_examined: str
    series_date: str
    series_time: str
    sop_class_uid: str
    sop_instance_uid: str
    instance_number: int | None
    specific_character_set: str
    record_keys: str


def extract(ds: Dataset) -> InstanceMeta:
    """Read the index values from a header; raises :class:`MissingAttribute` for absent UIDs."""
    other_ids = text(ds, "OtherPatientIDs", 1024)
    if not other_ids and "OtherPatientIDsSequence" in ds:
        other_ids = "\\".join(text(item, "PatientID") for item in ds.OtherPatientIDsSequence)[:1024]
    return InstanceMeta(
        patient_id=text(ds, "PatientID"),
        issuer_of_patient_id=text(ds, "IssuerOfPatientID"),
        patient_name=text(ds, "PatientName", 324),
        patient_birth_date=text(ds, "PatientBirthDate", 8),
        patient_sex=text(ds, "PatientSex", 16),
        other_patient_ids=other_ids,
        study_instance_uid=uid(ds, "StudyInstanceUID"),
        study_date=text(ds, "StudyDate", 8),
        study_time=text(ds, "StudyTime", 16),
        accession_number=text(ds, "AccessionNumber", 16),
        study_id=text(ds, "StudyID", 16),
        referring_physician_name=text(ds, "ReferringPhysicianName", 324),
        study_description=text(ds, "StudyDescription"),
        institution_name=text(ds, "InstitutionName"),
        series_instance_uid=uid(ds, "SeriesInstanceUID"),
        modality=text(ds, "Modality", 16),
        series_number=integer(ds, "SeriesNumber"),
        series_description=text(ds, "SeriesDescription"),
        body_part_examined=text(ds, "BodyPartExamined", 16),
        series_date=text(ds, "SeriesDate", 8),
        series_time=text(ds, "SeriesTime", 16),
        sop_class_uid=uid(ds, "SOPClassUID"),
        sop_instance_uid=uid(ds, "SOPInstanceUID"),
        instance_number=integer(ds, "InstanceNumber"),
        specific_character_set=text(ds, "SpecificCharacterSet", 128),
        record_keys=record_keys.to_json(record_keys.extract(ds)),
    )


def normalise_name(name: str) -> str:
    """The case-folded form wildcard searches run on (PS3.4 C.2.2.2.4 allows case-insensitive PN)."""
    return name.casefold()
