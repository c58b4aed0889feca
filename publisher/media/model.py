"""Plain data that flows through media mastering.

The index (``publisher.db``) is adapted to :class:`MediaInstance` by the caller; nothing in
``publisher.media`` imports the database. Field names are the DICOM keywords in snake_case so
the mapping from index rows (and from PS3.6 keywords) is obvious.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

class MediaError(Exception):
    """A selection cannot be mastered as asked (with the reason in the message)."""


#: (Patient ID, Issuer of Patient ID, Study Instance UID when there is no Patient ID else "").
PatientKey = tuple[str, str, str]


@dataclass(frozen=True)
class MediaInstance:
    """One stored composite instance to put on media, with the keys its DICOMDIR records need.

    Patient, study and series attributes are repeated on every instance (as in the index's
    joined rows); ``record_keys`` holds the instance-level keys of PS3.3 F.5 that the archive
    extracted at ingest (:mod:`publisher.archive.record_keys`). Text values are decoded ``str``.
    """

    patient_id: str
    patient_name: str
    study_instance_uid: str
    series_instance_uid: str
    modality: str
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    path: Path
    size: int
    issuer_of_patient_id: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_date: str = ""
    study_time: str = ""
    study_id: str = ""
    accession_number: str = ""
    study_description: str = ""
    referring_physician_name: str = ""
    series_number: int | None = None
    series_description: str = ""
    instance_number: int | None = None
    specific_character_set: str = ""
    sha256: str = ""
    record_keys: Dataset = field(default_factory=Dataset, compare=False, hash=False)

    @property
    def patient_key(self) -> PatientKey:
        """Who the instance belongs to: (Patient ID, Issuer, ""), or, without a Patient ID,
        ("", Issuer, Study Instance UID): such patients are one per study, never merged on the
        empty ID (PS3.3 C.7.1.1; docs/conformance.md, "Patient identity")."""
        no_id = "" if self.patient_id.strip() else self.study_instance_uid
        return (self.patient_id, self.issuer_of_patient_id, no_id)


class MediaType(enum.StrEnum):
    """The service's media types, with their usable capacity in bytes (PS3.12;
    docs/architecture.md, section 4). The one media type of the publisher: configuration, the CLI and the job row
    keep its value (``"bd-dl"``), parsed once with ``MediaType(value)``; a string enum, so a
    member equals and prints as its value. The blank a robot loads for each is
    :data:`publisher.jobs.disc_job.ROBOT_MEDIA` (robot_drivers has its own ``Blank``)."""

    CD = "cd"
    DVD = "dvd"
    DVD_DL = "dvd-dl"
    BD = "bd"
    BD_DL = "bd-dl"
    USB = "usb"
    FOLDER = "folder"

    @property
    def capacity(self) -> int:
        return _CAPACITY[self]

    @property
    def uses_udf(self) -> bool:
        """DVD (PS3.12 Annex P) and BD (Annex X) carry UDF; we bridge it with ISO 9660."""
        return self in (MediaType.DVD, MediaType.DVD_DL, MediaType.BD, MediaType.BD_DL)

    @property
    def is_image(self) -> bool:
        """Whether the volume is written as an ISO/UDF image (else as a plain folder)."""
        return self not in (MediaType.USB, MediaType.FOLDER)


#: Recordable capacity (bytes): CD-R 80 min = 360,000 sectors of 2048 bytes; DVD±R 2,295,104
#: sectors; DVD+R DL 4,173,824 sectors; BD-R SL 12,219,392 and DL 24,438,784 clusters of 2048.
_CAPACITY = {
    MediaType.CD: 360_000 * 2048,
    MediaType.DVD: 2_295_104 * 2048,
    MediaType.DVD_DL: 4_173_824 * 2048,
    MediaType.BD: 12_219_392 * 2048,
    MediaType.BD_DL: 24_438_784 * 2048,
    MediaType.USB: 8 * 1000**3,
    MediaType.FOLDER: 2**62,
}


@dataclass(frozen=True)
class DiscFile:
    """One file of a volume: where its bytes come from and its path on the medium.

    ``dest`` is the path relative to the volume root with ``/`` separators, exactly as on the
    medium (DICOM File IDs upper case, e.g. ``DICOM/P0000001/S0000001/SE000001/IM000001``).
    """

    dest: str
    source: Path
    size: int
    sha256: str = ""
    sop_instance_uid: str = ""


@dataclass(frozen=True)
class OtherVolume:
    """Another volume of the same set: its number, File-set ID and instances."""

    volume: int
    file_set_id: str
    instances: tuple[MediaInstance, ...]


@dataclass(frozen=True)
class DiscContent:
    """What one volume carries; handed to the viewer hook so it can index the disc (and name
    what the other volumes of a spanned set hold)."""

    volume: int
    volumes: int
    file_set_id: str
    profile: str
    instances: tuple[MediaInstance, ...]
    file_ids: dict[str, str]  #: SOP Instance UID -> File ID path on the medium ("/" separated)
    files: tuple[DiscFile, ...] = ()
    others: tuple[OtherVolume, ...] = ()


@dataclass
class Volume:
    """One finished volume ("disc k of n")."""

    number: int
    count: int
    file_set_id: str
    media_type: MediaType
    profile: str
    instances: list[MediaInstance]
    files: list[DiscFile]
    root: Path  #: staging folder (folder output) holding DICOMDIR, PDI files and transcoded files
    image: Path | None = None  #: the ISO/UDF image, for optical media
    manifest: Path | None = None
    size: int = 0  #: image size, or sum of file sizes for folder output

    @property
    def label(self) -> str:
        return f"disc {self.number} of {self.count}"
