"""What the index can be queried on: levels, keys and their matching kinds (PS3.4 C.2.2.2, C.6).

A key names the column it is matched on and returned from; a :class:`Query` is what a C-FIND
(or C-MOVE / C-GET) identifier asks for. Matching is :mod:`.matching`, running a query
:mod:`.search`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import InstrumentedAttribute

from publisher.db.models import Instance, Patient, Series, Study

class Level(enum.IntEnum):
    """Query/Retrieve levels (PS3.4 C.3), ordered from the top of the hierarchy."""

    PATIENT = 0
    STUDY = 1
    SERIES = 2
    IMAGE = 3


class QueryError(ValueError):
    """The identifier cannot be answered (PS3.4 C.4.1.1.4 status A900 / C000 family)."""


class Kind(enum.Enum):
    """How a key is matched (PS3.4 C.2.2.2) or, for ``RETURN``/``COUNT``, only returned."""

    TEXT = "text"  # LO, SH, CS, AE: single value, wildcard, value list; case-sensitive
    PN = "pn"  # person name: case-insensitive on the decoded value
    UID = "uid"  # single UID or list of UIDs
    DATE = "date"  # DA: single value or range
    TIME = "time"  # TM: single value or range
    NUMBER = "number"  # IS: single value or list
    MODALITIES = "modalities"  # Modalities in Study: computed from the series
    COUNT = "count"  # Number of ... Related ...: computed, return only
    RETURN = "return"  # returned when requested, not a matching key


@dataclass(frozen=True)
class Key:
    """One attribute the index knows: its level, column and matching kind."""

    keyword: str
    level: Level
    kind: Kind
    column: InstrumentedAttribute[Any] | None = None
    #: The column matching runs on when it is not ``column`` (the case-folded name).
    match_column: InstrumentedAttribute[Any] | None = None


#: The keys of the seed statement's section 6 (C-FIND), and a few more the index holds.
#: Table form, as PS3.4 C.6 keeps the keys per level.
KEYS: tuple[Key, ...] = (
    Key("PatientName", Level.PATIENT, Kind.PN, Patient.patient_name, Patient.patient_name_norm),
    Key("PatientID", Level.PATIENT, Kind.TEXT, Patient.patient_id),
    Key("IssuerOfPatientID", Level.PATIENT, Kind.TEXT, Patient.issuer_of_patient_id),
    Key("PatientBirthDate", Level.PATIENT, Kind.DATE, Patient.patient_birth_date),
    Key("PatientSex", Level.PATIENT, Kind.TEXT, Patient.patient_sex),
    Key("OtherPatientIDs", Level.PATIENT, Kind.RETURN, Patient.other_patient_ids),
    Key("NumberOfPatientRelatedStudies", Level.PATIENT, Kind.COUNT),
    Key("NumberOfPatientRelatedSeries", Level.PATIENT, Kind.COUNT),
    Key("NumberOfPatientRelatedInstances", Level.PATIENT, Kind.COUNT),
    Key("StudyInstanceUID", Level.STUDY, Kind.UID, Study.study_instance_uid),
    Key("StudyDate", Level.STUDY, Kind.DATE, Study.study_date),
    Key("StudyTime", Level.STUDY, Kind.TIME, Study.study_time),
    Key("AccessionNumber", Level.STUDY, Kind.TEXT, Study.accession_number),
    Key("StudyID", Level.STUDY, Kind.TEXT, Study.study_id),
    Key("ReferringPhysicianName", Level.STUDY, Kind.PN, Study.referring_physician_name),
    Key("StudyDescription", Level.STUDY, Kind.TEXT, Study.study_description),
    Key("InstitutionName", Level.STUDY, Kind.TEXT, Study.institution_name),
    Key("ModalitiesInStudy", Level.STUDY, Kind.MODALITIES),
    Key("NumberOfStudyRelatedSeries", Level.STUDY, Kind.COUNT),
    Key("NumberOfStudyRelatedInstances", Level.STUDY, Kind.COUNT),
    Key("SeriesInstanceUID", Level.SERIES, Kind.UID, Series.series_instance_uid),
    Key("Modality", Level.SERIES, Kind.TEXT, Series.modality),
    Key("SeriesNumber", Level.SERIES, Kind.NUMBER, Series.series_number),
    Key("SeriesDescription", Level.SERIES, Kind.TEXT, Series.series_description),
    Key("SeriesDate", Level.SERIES, Kind.DATE, Series.series_date),
    Key("SeriesTime", Level.SERIES, Kind.TIME, Series.series_time),
    Key("BodyPartExamined", Level.SERIES, Kind.TEXT, Series.body_part_examined),
    Key("NumberOfSeriesRelatedInstances", Level.SERIES, Kind.COUNT),
    Key("SOPInstanceUID", Level.IMAGE, Kind.UID, Instance.sop_instance_uid),
    Key("SOPClassUID", Level.IMAGE, Kind.UID, Instance.sop_class_uid),
    Key("InstanceNumber", Level.IMAGE, Kind.NUMBER, Instance.instance_number),
    Key("AvailableTransferSyntaxUID", Level.IMAGE, Kind.RETURN, Instance.transfer_syntax_uid),
)
KEY_BY_KEYWORD: dict[str, Key] = {k.keyword: k for k in KEYS}

#: The unique key of each level (PS3.4 C.2.1.1.1).
UNIQUE_KEY: dict[Level, str] = {
    Level.PATIENT: "PatientID",
    Level.STUDY: "StudyInstanceUID",
    Level.SERIES: "SeriesInstanceUID",
    Level.IMAGE: "SOPInstanceUID",
}

#: Date and Time keys that combine into one date-time range (PS3.4 C.2.2.2.5.1).
DATE_TIME_PAIRS: tuple[tuple[str, str], ...] = (("StudyDate", "StudyTime"), ("SeriesDate", "SeriesTime"))

#: The entity (table) of each level.
ENTITY: dict[Level, Any] = {Level.PATIENT: Patient, Level.STUDY: Study, Level.SERIES: Series, Level.IMAGE: Instance}


@dataclass(frozen=True)
class Query:
    """What a C-FIND (or C-MOVE / C-GET) identifier asks: a level, matching values, return keys.

    ``matches`` maps keywords to the raw (decoded) values; ``returns`` are the keywords whose
    values the caller wants back (counts are only computed when asked for)."""

    level: Level
    matches: Mapping[str, str] = field(default_factory=dict)
    returns: Sequence[str] = ()
    #: Match Date and Time range pairs as one date-time range (PS3.4 C.2.2.2.5.1), which a
    #: C-FIND SCU has to negotiate (C.5.1.1.2); without it each key is matched on its own.
    combine_datetime: bool = False

