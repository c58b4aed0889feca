"""What the index keeps of an instance, taken from its header (PS3.3 modules by level)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pydicom.dataset import Dataset

from publisher.archive import record_keys
from publisher.archive.raw_values import RawValues


class MissingAttribute(ValueError):
    """A Type 1 attribute the archive cannot file an instance without is absent or invalid."""


#: PS3.5 9.1: components of digits without leading zeros (except "0"), separated by dots.
_UID = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def valid_uid(value: str) -> bool:
    """Whether ``value`` is a UID as PS3.5 9.1 has it."""
    return 0 < len(value) <= 64 and _UID.fullmatch(value) is not None


def uid(values: RawValues, tag: int, keyword: str) -> str:
    """A required UID (PS3.5 9.1): present, at most 64 characters of digits and dots."""
    value = values.text(tag, 1000)
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
    v = RawValues(ds)
    other_ids = v.text(0x00101000, 1024)  # Other Patient IDs (retired, still sent)
    if not other_ids and v.get(0x00101002) is not None:
        try:
            other_ids = "\\".join(str(item.get("PatientID", "")) for item in ds.OtherPatientIDsSequence)[:1024]
        except Exception as exc:  # a sequence pydicom cannot read: the file keeps it
            v.warn(0x00101002, f"cannot be read ({exc.__class__.__name__}): no value indexed")
    return InstanceMeta(
        patient_id=v.text(0x00100020),
        issuer_of_patient_id=v.text(0x00100021),
        patient_name=v.text(0x00100010, 324),
        patient_birth_date=v.date(0x00100030),
        patient_sex=v.text(0x00100040, 16),
        other_patient_ids=other_ids,
        study_instance_uid=uid(v, 0x0020000D, "StudyInstanceUID"),
        study_date=v.date(0x00080020),
        study_time=v.time(0x00080030),
        accession_number=v.text(0x00080050, 16),
        study_id=v.text(0x00200010, 16),
        referring_physician_name=v.text(0x00080090, 324),
        study_description=v.text(0x00081030),
        institution_name=v.text(0x00080080),
        series_instance_uid=uid(v, 0x0020000E, "SeriesInstanceUID"),
        modality=v.text(0x00080060, 16),
        series_number=v.integer(0x00200011),
        series_description=v.text(0x0008103E),
        body_part_examined=v.text(0x00180015, 16),
        series_date=v.date(0x00080021),
        series_time=v.time(0x00080031),
        sop_class_uid=uid(v, 0x00080016, "SOPClassUID"),
        sop_instance_uid=uid(v, 0x00080018, "SOPInstanceUID"),
        instance_number=v.integer(0x00200013),
        specific_character_set=v.text(0x00080005, 128),
        record_keys=record_keys.to_json_raw(v),
    )


def normalise_name(name: str) -> str:
    """The case-folded form wildcard searches run on (PS3.4 C.2.2.2.4 allows case-insensitive PN)."""
    return name.casefold()


def search_fold(text: str) -> str:
    """``text`` case-folded with its accents removed (``Müller`` -> ``muller``, ``JÜRGEN`` ->
    ``jurgen``, ``ß`` -> ``ss``): the form the study browser's name search runs on, so a person
    finds a name with or without its accents. Separators (``^``, ``=``) are kept."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))
