"""What a File-set from elsewhere holds: its files with their keys, and what is wrong with it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import pydicom
from pydicom.dataset import Dataset

from publisher.media.read.medium import Medium


class ProblemKind(enum.StrEnum):
    """What can be wrong with a File-set; each is reported, none stops the rest."""

    NO_DICOMDIR = "no-dicomdir"  #: none found: files were found by scanning
    UNREADABLE_DICOMDIR = "unreadable-dicomdir"  #: could not be parsed: files were found by scanning
    BROKEN_OFFSETS = "broken-offsets"  #: record offsets lead nowhere: records read in sequence order
    UNLINKED_RECORDS = "unlinked-records"  #: in-use records no offset leads to (read anyway)
    MISSING_FILE = "missing-file"  #: a record names a file the medium does not hold
    OUTSIDE_FILESET = "outside-file-set"  #: a File ID that leaves the File-set (PS3.10 8.5)
    BAD_RECORD = "bad-record"  #: a record whose Referenced File ID is unusable
    UNREADABLE_FILE = "unreadable-file"  #: a file with a DICM preamble whose header cannot be read


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the File-set: what, where (a path or File ID), and details."""

    kind: ProblemKind
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.where}: {self.detail}" if self.where else f"{self.kind.value}: {self.detail}"



@dataclass(frozen=True)
class FileEntry:
    """One file of the File-set and the keys of its records (or of its header when scanned).

    ``path`` names the file on the medium (:meth:`Medium.open`); ``file_id`` is the Referenced
    File ID as the DICOMDIR wrote it ("/"-joined; empty when the file was found by scanning).
    """

    path: str
    size: int
    file_id: str = ""
    record_type: str = ""
    patient_id: str = ""
    issuer_of_patient_id: str = ""
    patient_name: str = ""
    study_instance_uid: str = ""
    study_date: str = ""
    study_description: str = ""
    series_instance_uid: str = ""
    modality: str = ""
    series_number: str = ""
    series_description: str = ""
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    transfer_syntax_uid: str = ""

    @property
    def patient_key(self) -> tuple[str, str]:
        return (self.patient_id, self.issuer_of_patient_id)


@dataclass
class SeriesSummary:
    series_instance_uid: str
    modality: str
    series_number: str
    series_description: str
    instances: int = 0


@dataclass
class StudySummary:
    study_instance_uid: str
    study_date: str
    study_description: str
    series: dict[str, SeriesSummary] = field(default_factory=dict)

    @property
    def instances(self) -> int:
        return sum(s.instances for s in self.series.values())


@dataclass
class PatientSummary:
    patient_id: str
    issuer_of_patient_id: str
    patient_name: str
    studies: dict[str, StudySummary] = field(default_factory=dict)

    @property
    def instances(self) -> int:
        return sum(s.instances for s in self.studies.values())


@dataclass
class FileSet:
    """What :func:`publisher.media.read.fileset.read_fileset` found on a medium."""

    medium: Medium
    entries: list[FileEntry]
    problems: list[Problem]
    dicomdirs: list[str] = field(default_factory=list)  #: paths of the DICOMDIRs read
    file_set_ids: list[str] = field(default_factory=list)
    scanned: bool = False  #: files were found by scanning, not through a DICOMDIR
    not_dicom: int = 0  #: files scanned that carry no DICM preamble (README, viewer, ...)

    def patients(self) -> list[PatientSummary]:
        """Patients, their studies and series with instance counts, in the order found."""
        out: dict[tuple[str, str], PatientSummary] = {}
        for e in self.entries:
            p = out.setdefault(e.patient_key, PatientSummary(e.patient_id, e.issuer_of_patient_id, e.patient_name))
            st = p.studies.setdefault(e.study_instance_uid, StudySummary(e.study_instance_uid, e.study_date, e.study_description))
            se = st.series.setdefault(
                e.series_instance_uid, SeriesSummary(e.series_instance_uid, e.modality, e.series_number, e.series_description)
            )
            se.instances += 1
        return list(out.values())


# -- the keys of a record or a header ----------------------------------------------------------

#: What is read of an instance's header when no record says where it belongs.
HEADER_TAGS = [
    "SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "PatientID", "IssuerOfPatientID", "PatientName",
    "StudyInstanceUID", "StudyDate", "StudyDescription", "SeriesInstanceUID", "Modality", "SeriesNumber",
    "SeriesDescription",
]


def key_text(ds: Dataset, keyword: str) -> str:
    """The value of ``keyword`` as text (multi-values joined by backslash); "" when absent or
    not decodable."""
    try:
        value = ds.get(keyword)
    except Exception:  # a value that cannot be decoded: leave the key empty
        return ""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def header_keys(medium: Medium, path: str) -> Dataset:
    """The header keys of the file at ``path`` (pixel data not read)."""
    with medium.open(path) as fh:
        return pydicom.dcmread(fh, stop_before_pixels=True, specific_tags=HEADER_TAGS)


def level_keys(patient: Dataset, study: Dataset, series: Dataset) -> dict[str, str]:
    """The patient, study and series keys of a :class:`FileEntry`, from records or a header."""
    return {
        "patient_id": key_text(patient, "PatientID"), "issuer_of_patient_id": key_text(patient, "IssuerOfPatientID"),
        "patient_name": key_text(patient, "PatientName"), "study_instance_uid": key_text(study, "StudyInstanceUID"),
        "study_date": key_text(study, "StudyDate"), "study_description": key_text(study, "StudyDescription"),
        "series_instance_uid": key_text(series, "SeriesInstanceUID"), "modality": key_text(series, "Modality"),
        "series_number": key_text(series, "SeriesNumber"), "series_description": key_text(series, "SeriesDescription"),
    }
