"""Searching the index with DICOM matching rules (PS3.4 C.2.2.2).

Every matching kind of PS3.4 C.2.2.2 becomes an SQL condition, so a query is answered by the
database from its indexes and never by reading files:

- single value matching (C.2.2.2.1), case-sensitive except for person names;
- list of UID matching (C.2.2.2.2), a backslash-separated list becomes ``IN (...)``;
- universal matching (C.2.2.2.3), an empty value or ``*`` adds no condition;
- wildcard matching (C.2.2.2.4): ``*`` any sequence, ``?`` one character;
- range matching (C.2.2.2.5) of dates and times, closed (``A-B``) and open (``A-``, ``-B``);
  a Date and a Time key of the same entity that are both ranges combine into one date-time
  range when the SCU negotiated it (C.2.2.2.5.1);
- value lists of multi-valued keys (``CT\\MR``, PS3.4 C.2.2.2.1 for VM > 1): any value matches.

Person names are matched on their decoded, case-folded form (``*_norm`` columns), so a query
typed in UTF-8 finds a name that arrived in ISO_IR 100 and the other way round (PS3.4 C.2.2.2.4
allows case-insensitive PN matching). The other text keys are case-sensitive on every backend:
SQLite's LIKE ignores ASCII case, so wildcards use GLOB there; MariaDB's default collations
ignore case and accents, so conditions add a binary collation there.

A search runs in two steps so its cost grows with the result and not with the archive: the ids
of the matching entities (one indexed query, no ORDER BY that could tempt the planner into an
index-order scan), then their attributes and counts by batches of ids (:func:`search`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, QueryableAttribute, Session

from publisher.archive.metadata import normalise_name
from publisher.db.models import Instance, Patient, Series, Study
from publisher.db.session import Database

_ESCAPE = "!"
_MARIADB_BINARY = "utf8mb4_bin"


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

_ENTITY: dict[Level, Any] = {Level.PATIENT: Patient, Level.STUDY: Study, Level.SERIES: Series, Level.IMAGE: Instance}


# -- single conditions --------------------------------------------------------------------------


def wildcard_to_like(pattern: str) -> str:
    """A DICOM wildcard pattern as an SQL LIKE pattern escaped with ``!``."""
    out = []
    for ch in pattern:
        if ch in "%_!":
            out.append(_ESCAPE + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


def wildcard_to_glob(pattern: str) -> str:
    """A DICOM wildcard pattern as an SQLite GLOB pattern (case-sensitive; ``[`` made literal)."""
    return pattern.replace("[", "[[]")


def is_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


@dataclass(frozen=True)
class Matcher:
    """Builds case-sensitive conditions the same way on SQLite, PostgreSQL and MariaDB."""

    dialect: str = "sqlite"

    def equals(self, column: ColumnElement[Any] | QueryableAttribute[Any], value: str) -> ColumnElement[bool]:
        cond = column == value
        if self.dialect in ("mysql", "mariadb"):
            # The index finds the case/accent-insensitive candidates, the binary collation decides.
            return and_(cond, column.collate(_MARIADB_BINARY) == value)
        return cond

    def wildcard(self, column: ColumnElement[Any] | QueryableAttribute[Any], pattern: str) -> ColumnElement[bool]:
        if self.dialect == "sqlite":
            return column.op("GLOB")(wildcard_to_glob(pattern))
        like = wildcard_to_like(pattern)
        if self.dialect in ("mysql", "mariadb"):
            return and_(column.like(like, escape=_ESCAPE), column.collate(_MARIADB_BINARY).like(like, escape=_ESCAPE))
        return column.like(like, escape=_ESCAPE)

    def text(self, column: ColumnElement[Any] | QueryableAttribute[Any], value: str) -> ColumnElement[bool] | None:
        """Single value, wildcard or a backslash list of either; None for universal matching."""
        values = [v for v in value.split("\\")]
        if any(v in ("", "*") for v in values):
            return None
        conds = [self.wildcard(column, v) if is_wildcard(v) else self.equals(column, v) for v in values]
        return conds[0] if len(conds) == 1 else or_(*conds)


def match(column: ColumnElement[str], pattern: str, dialect: str = "sqlite") -> ColumnElement[bool] | None:
    """Single value or wildcard matching of ``column``; None for universal matching."""
    return Matcher(dialect).text(column, pattern)


def uid_list(column: ColumnElement[str], value: str) -> ColumnElement[bool] | None:
    """List of UID matching (PS3.4 C.2.2.2.2); a single UID is a list of one."""
    uids = [u.strip().rstrip("\0") for u in value.split("\\") if u.strip().rstrip("\0")]
    if not uids or "*" in uids:
        return None
    return column == uids[0] if len(uids) == 1 else column.in_(uids)


def normalise_date(value: str) -> str:
    """YYYYMMDD from YYYYMMDD or the retired YYYY.MM.DD (PS3.5 6.2 DA note)."""
    v = value.strip()
    if len(v) == 10 and v[4] == "." and v[7] == ".":
        v = v.replace(".", "")
    if len(v) != 8 or not v.isdigit():
        raise QueryError(f"{value!r} is not a DICOM date (YYYYMMDD)")
    return v


def normalise_time(value: str) -> str:
    """HH[MM[SS[.FFFFFF]]] from a TM value, colons of the retired form removed."""
    v = value.strip().replace(":", "")
    head = v.split(".")[0]
    if not head.isdigit() or len(head) not in (2, 4, 6):
        raise QueryError(f"{value!r} is not a DICOM time (HHMMSS.FFFFFF)")
    return v


def time_upper(value: str) -> str:
    """The last instant a reduced-precision upper bound names: ``10`` -> ``105959.999999``."""
    head, _, frac = value.partition(".")
    head = head + "5959"[: 6 - len(head)] if len(head) < 6 else head
    return f"{head}.{(frac + '999999')[:6]}" if frac else f"{head}.999999"


def split_range(value: str) -> tuple[str, str] | None:
    """(low, high) of a range value ``A-B``, ``A-``, ``-B``; None for a single value."""
    if "-" not in value:
        return None
    low, _, high = value.partition("-")
    return low.strip(), high.strip()


def date_condition(column: ColumnElement[str], value: str) -> ColumnElement[bool] | None:
    """Single date or date range (PS3.4 C.2.2.2.5); dates are stored as YYYYMMDD strings."""
    v = value.strip()
    if v in ("", "*"):
        return None
    rng = split_range(v)
    if rng is None:
        return or_(*[column == normalise_date(d) for d in v.split("\\")]) if "\\" in v else column == normalise_date(v)
    low, high = rng
    conds = [column != ""]
    if low:
        conds.append(column >= normalise_date(low))
    if high:
        conds.append(column <= normalise_date(high))
    return and_(*conds)


def time_condition(column: ColumnElement[str], value: str) -> ColumnElement[bool] | None:
    """Single time or time range; a reduced-precision value matches the whole period it names."""
    v = value.strip()
    if v in ("", "*"):
        return None
    rng = split_range(v)
    low, high = rng if rng is not None else (v, v)
    conds = [column != ""]
    if low:
        conds.append(column >= normalise_time(low))
    if high:
        conds.append(column <= time_upper(normalise_time(high)))
    return and_(*conds)


def datetime_condition(date_col: ColumnElement[str], time_col: ColumnElement[str], date_value: str, time_value: str) -> ColumnElement[bool]:
    """Combined date-time range of a Date and a Time key (PS3.4 C.2.2.2.5.1):
    ``StudyDate=20260101-20260102, StudyTime=2200-0600`` means from 1 Jan 22:00 to 2 Jan 06:00."""
    (dlow, dhigh), (tlow, thigh) = split_range(date_value.strip()) or ("", ""), split_range(time_value.strip()) or ("", "")
    conds: list[ColumnElement[bool]] = [date_col != ""]
    if dlow:
        d = normalise_date(dlow)
        after = date_col > d
        conds.append(or_(after, and_(date_col == d, time_col >= normalise_time(tlow))) if tlow else date_col >= d)
    if dhigh:
        d = normalise_date(dhigh)
        before = date_col < d
        conds.append(or_(before, and_(date_col == d, time_col <= time_upper(normalise_time(thigh)))) if thigh else date_col <= d)
    return and_(*conds)


def number_condition(column: ColumnElement[int], value: str) -> ColumnElement[bool] | None:
    """IS keys: single value or backslash list of integers."""
    values = [v.strip() for v in value.split("\\") if v.strip()]
    if not values or "*" in values:
        return None
    try:
        ints = [int(v) for v in values]
    except ValueError:
        return false()  # a non-numeric IS value matches nothing
    return column == ints[0] if len(ints) == 1 else column.in_(ints)


# -- queries ------------------------------------------------------------------------------------


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


def _conditions(query: Query, matcher: Matcher) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    combined: set[str] = set()
    for date_kw, time_kw in DATE_TIME_PAIRS:
        dv, tv = query.matches.get(date_kw, ""), query.matches.get(time_kw, "")
        if query.combine_datetime and split_range(dv.strip()) and split_range(tv.strip()):
            key_d, key_t = KEY_BY_KEYWORD[date_kw], KEY_BY_KEYWORD[time_kw]
            if key_d.level <= query.level:
                assert key_d.column is not None and key_t.column is not None
                conds.append(datetime_condition(key_d.column, key_t.column, dv, tv))
                combined.update((date_kw, time_kw))
    for keyword, value in query.matches.items():
        key = KEY_BY_KEYWORD.get(keyword)
        if key is None or keyword in combined or key.level > query.level or value is None:
            continue
        cond = _condition(key, str(value), matcher)
        if cond is not None:
            conds.append(cond)
    return conds


def _condition(key: Key, value: str, matcher: Matcher) -> ColumnElement[bool] | None:
    col = key.match_column or key.column
    if key.kind is Kind.TEXT:
        assert col is not None
        return matcher.text(col, value)
    if key.kind is Kind.PN:
        assert col is not None
        if key.match_column is not None:
            return matcher.text(col, normalise_name(value))
        return matcher.text(func.lower(col), value.lower())
    if key.kind is Kind.UID:
        assert col is not None
        return uid_list(col, value)
    if key.kind is Kind.DATE:
        assert col is not None
        return date_condition(col, value)
    if key.kind is Kind.TIME:
        assert col is not None
        return time_condition(col, value)
    if key.kind is Kind.NUMBER:
        assert col is not None
        return number_condition(col, value)
    if key.kind is Kind.MODALITIES:
        inner = matcher.text(Series.modality, value)
        if inner is None:
            return None
        return exists(select(Series.id).where(Series.study_fk == Study.id, inner))
    return None  # COUNT and RETURN keys are not matched


def _joined(level: Level, *columns: Any) -> Select[Any]:
    """``columns`` from the entity of ``level`` joined up to the patient."""
    stmt = select(*columns).select_from(_ENTITY[level])
    if level >= Level.IMAGE:
        stmt = stmt.join(Series, Instance.series_fk == Series.id)
    if level >= Level.SERIES:
        stmt = stmt.join(Study, Series.study_fk == Study.id)
    if level >= Level.STUDY:
        stmt = stmt.join(Patient, Study.patient_fk == Patient.id)
    return stmt


#: Result order per level (applied in Python to the ids, so SQL never sorts the archive).
_ORDER: dict[Level, tuple[InstrumentedAttribute[Any], ...]] = {
    Level.PATIENT: (Patient.patient_name_norm,),
    Level.STUDY: (Study.study_date, Study.study_time),
    Level.SERIES: (Series.series_number,),
    Level.IMAGE: (Series.id, Instance.instance_number),
}


def matching_ids(session: Session, query: Query) -> list[int]:
    """Ids of the entities of ``query.level`` that match, in a stable display order."""
    entity = _ENTITY[query.level]
    matcher = Matcher(session.get_bind().dialect.name)
    order = _ORDER[query.level]
    stmt = _joined(query.level, entity.id, *order).where(*_conditions(query, matcher))
    rows = list(session.execute(stmt).all())
    rows.sort(key=lambda r: tuple((x is None, x if x is not None else 0) for x in r[1:]) + (r[0],))
    return [int(r[0]) for r in rows]


def _columns(level: Level) -> list[Any]:
    cols: list[Any] = [Patient.id.label("patient_pk")]
    cols += [k.column.label(k.keyword) for k in KEYS if k.column is not None and k.level <= level]
    if level >= Level.STUDY:
        cols.append(Study.id.label("study_pk"))
        cols.append(Study.specific_character_set.label("study_charset"))
    if level >= Level.SERIES:
        cols.append(Series.id.label("series_pk"))
    if level >= Level.IMAGE:
        cols += [Instance.id.label("instance_pk"), Instance.path.label("path"), Instance.size.label("size")]
    cols.append(Patient.specific_character_set.label("patient_charset"))
    return cols


def _count_rows(session: Session, stmt: Select[Any, Any]) -> dict[int, int]:
    return {int(k): int(n) for k, n in session.execute(stmt)}


def _counts(session: Session, level: Level, ids: list[int], wanted: set[str]) -> dict[str, dict[int, int]]:
    """The Number of ... Related ... keys asked for, by SQL over the batch's ids only."""
    out: dict[str, dict[int, int]] = {}
    if level == Level.PATIENT:
        if "NumberOfPatientRelatedStudies" in wanted:
            out["NumberOfPatientRelatedStudies"] = _count_rows(
                session, select(Study.patient_fk, func.count(Study.id)).where(Study.patient_fk.in_(ids)).group_by(Study.patient_fk)
            )
        if "NumberOfPatientRelatedSeries" in wanted:
            out["NumberOfPatientRelatedSeries"] = _count_rows(
                session,
                select(Study.patient_fk, func.count(Series.id))
                .join(Series, Series.study_fk == Study.id)
                .where(Study.patient_fk.in_(ids))
                .group_by(Study.patient_fk),
            )
        if "NumberOfPatientRelatedInstances" in wanted:
            out["NumberOfPatientRelatedInstances"] = _count_rows(
                session,
                select(Study.patient_fk, func.count(Instance.id))
                .join(Series, Series.study_fk == Study.id)
                .join(Instance, Instance.series_fk == Series.id)
                .where(Study.patient_fk.in_(ids))
                .group_by(Study.patient_fk),
            )
    elif level == Level.STUDY:
        if "NumberOfStudyRelatedSeries" in wanted:
            out["NumberOfStudyRelatedSeries"] = _count_rows(
                session, select(Series.study_fk, func.count(Series.id)).where(Series.study_fk.in_(ids)).group_by(Series.study_fk)
            )
        if "NumberOfStudyRelatedInstances" in wanted:
            out["NumberOfStudyRelatedInstances"] = _count_rows(
                session,
                select(Series.study_fk, func.count(Instance.id))
                .join(Instance, Instance.series_fk == Series.id)
                .where(Series.study_fk.in_(ids))
                .group_by(Series.study_fk),
            )
    elif level == Level.SERIES and "NumberOfSeriesRelatedInstances" in wanted:
        out["NumberOfSeriesRelatedInstances"] = _count_rows(
            session,
            select(Instance.series_fk, func.count(Instance.id)).where(Instance.series_fk.in_(ids)).group_by(Instance.series_fk),
        )
    return out


def _modalities(session: Session, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    stmt = select(Series.study_fk, Series.modality).where(Series.study_fk.in_(ids), Series.modality != "").distinct()
    for study_fk, modality in session.execute(stmt):
        found.setdefault(int(study_fk), []).append(str(modality))
    return {k: sorted(v) for k, v in found.items()}


#: Row key -> the count dictionaries' id column per level.
_PK = {Level.PATIENT: "patient_pk", Level.STUDY: "study_pk", Level.SERIES: "series_pk", Level.IMAGE: "instance_pk"}


def search(
    db: Database,
    query: Query,
    *,
    batch: int = 200,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Matches of ``query`` as dicts (keyword -> value, plus ``*_pk``, ``path`` at IMAGE level).

    Streams by batches of ``batch`` ids, each in its own short read, and stops between batches
    when ``cancelled()`` turns true (C-CANCEL, PS3.7 9.3.2.3)."""
    with db.session() as s:
        ids = matching_ids(s, query)
    wanted = set(query.returns)
    entity = _ENTITY[query.level]
    pk = _PK[query.level]
    for start in range(0, len(ids), batch):
        if cancelled():
            return
        chunk = ids[start : start + batch]
        with db.session() as s:
            rows = {int(r[pk]): dict(r) for r in s.execute(_joined(query.level, *_columns(query.level)).where(entity.id.in_(chunk))).mappings()}
            counts = _counts(s, query.level, chunk, wanted)
            modalities = _modalities(s, chunk) if query.level == Level.STUDY and "ModalitiesInStudy" in wanted else {}
        for i in chunk:
            row = rows.get(i)
            if row is None:  # deleted between the two steps
                continue
            for name, values in counts.items():
                row[name] = values.get(i, 0)
            if modalities or "ModalitiesInStudy" in wanted:
                row["ModalitiesInStudy"] = modalities.get(i, [])
            yield row


def find_patients(session: Session, name: str = "", patient_id: str = "") -> list[Patient]:
    """Patients whose name and ID match the (wildcard) patterns."""
    matcher = Matcher(session.get_bind().dialect.name)
    stmt = select(Patient)
    cond = matcher.text(Patient.patient_name_norm, normalise_name(name))
    if cond is not None:
        stmt = stmt.where(cond)
    cond = matcher.text(Patient.patient_id, patient_id)
    if cond is not None:
        stmt = stmt.where(cond)
    return list(session.scalars(stmt.order_by(Patient.patient_name_norm)))
