"""Running a :class:`~publisher.archive.query.keys.Query` against the index in two steps.

One query per search: the matching rows with their attributes and the counts asked for,
ordered by the database and streamed from its cursor, so the cost of a search grows with the
result and not with the archive, and its memory with neither.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from publisher.archive.metadata import normalise_name
from publisher.archive.query.keys import ENTITY, KEYS, Level, Query
from publisher.archive.query.matching import Matcher, conditions
from publisher.db.models import Instance, Patient, Series, Study
from publisher.db.session import Database


def _joined(level: Level, *columns: Any) -> Select[Any]:
    """``columns`` from the entity of ``level`` joined up to the patient."""
    stmt = select(*columns).select_from(ENTITY[level])
    if level >= Level.IMAGE:
        stmt = stmt.join(Series, Instance.series_fk == Series.id)
    if level >= Level.SERIES:
        stmt = stmt.join(Study, Series.study_fk == Study.id)
    if level >= Level.STUDY:
        stmt = stmt.join(Patient, Study.patient_fk == Patient.id)
    return stmt


#: Result order per level (then the id), as the database's ORDER BY (:func:`_order`).
_ORDER: dict[Level, tuple[InstrumentedAttribute[Any], ...]] = {
    Level.PATIENT: (Patient.patient_name_norm,),
    Level.STUDY: (Study.study_date, Study.study_time),
    Level.SERIES: (Series.series_number,),
    Level.IMAGE: (Series.id, Instance.instance_number),
}


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


def _count(level: Level, keyword: str) -> Any:
    """The Number of ... Related ... key ``keyword`` of the current row of ``level`` as a
    correlated scalar subquery (PS3.4 C.6.1.1.2 ff.); None when ``level`` has no such count."""
    outer = {Level.PATIENT: Patient.id, Level.STUDY: Study.id, Level.SERIES: Series.id}.get(level)
    if outer is None:
        return None
    if keyword == "NumberOfPatientRelatedStudies" and level == Level.PATIENT:
        stmt = select(func.count(Study.id)).where(Study.patient_fk == outer)
    elif keyword == "NumberOfPatientRelatedSeries" and level == Level.PATIENT:
        stmt = select(func.count(Series.id)).join(Study, Series.study_fk == Study.id).where(Study.patient_fk == outer)
    elif keyword == "NumberOfPatientRelatedInstances" and level == Level.PATIENT:
        stmt = (select(func.count(Instance.id)).join(Series, Instance.series_fk == Series.id)
                .join(Study, Series.study_fk == Study.id).where(Study.patient_fk == outer))
    elif keyword == "NumberOfStudyRelatedSeries" and level == Level.STUDY:
        stmt = select(func.count(Series.id)).where(Series.study_fk == outer)
    elif keyword == "NumberOfStudyRelatedInstances" and level == Level.STUDY:
        stmt = select(func.count(Instance.id)).join(Series, Instance.series_fk == Series.id).where(Series.study_fk == outer)
    elif keyword == "NumberOfSeriesRelatedInstances" and level == Level.SERIES:
        stmt = select(func.count(Instance.id)).where(Instance.series_fk == outer)
    else:
        return None
    return stmt.correlate(ENTITY[level]).scalar_subquery().label(keyword)


def _modalities(dialect: str) -> Any:
    """Modalities in Study of the current study row, comma-joined (CS values hold no comma,
    PS3.5 6.2); split and sorted in Python."""
    distinct = Series.modality.distinct()
    agg = func.string_agg(distinct, ",") if dialect == "postgresql" else func.group_concat(distinct)
    stmt = select(agg).where(Series.study_fk == Study.id, Series.modality != "")
    return stmt.correlate(Study).scalar_subquery().label("ModalitiesInStudy")


def _order(level: Level, dialect: str) -> list[Any]:
    """ORDER BY of :data:`_ORDER` (NULLs last, then the id) comparing text by code point on
    every backend, as Python's sort did."""
    binary = {"postgresql": "C", "mysql": "utf8mb4_bin", "mariadb": "utf8mb4_bin"}.get(dialect)
    keys: list[Any] = []
    for col in _ORDER[level]:
        text = binary is not None and col.type.python_type is str
        keys += [col.is_(None), col.collate(binary) if text and binary else col]
    return [*keys, ENTITY[level].id]


def search(
    db: Database,
    query: Query,
    *,
    batch: int = 200,
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Matches of ``query`` as dicts (keyword -> value, plus ``*_pk``, ``path`` at IMAGE level).

    One ordered query with the counts asked for as correlated subqueries, streamed from a
    server-side cursor ``batch`` rows at a time (SQLAlchemy ``yield_per``), so memory stays flat
    in the number of matches; on SQLite the read transaction is deferred and never takes the
    write lock, however long the caller takes. Stops between batches when ``cancelled()``
    turns true (C-CANCEL, PS3.7 9.3.2.3)."""
    wanted = set(query.returns)
    with db.reading() as s:
        dialect = s.get_bind().dialect.name
        cols = _columns(query.level)
        cols += [c for c in (_count(query.level, k) for k in sorted(wanted)) if c is not None]
        modalities = query.level == Level.STUDY and "ModalitiesInStudy" in wanted
        if modalities:
            cols.append(_modalities(dialect))
        stmt = (_joined(query.level, *cols).where(*conditions(query, Matcher(dialect)))
                .order_by(*_order(query.level, dialect)))
        result = s.execute(stmt, execution_options={"yield_per": batch})
        try:
            names = list(result.keys())
            for part in result.partitions():
                if cancelled():
                    return
                for r in part:
                    row = dict(zip(names, r))
                    if modalities:
                        row["ModalitiesInStudy"] = sorted(str(row["ModalitiesInStudy"] or "").split(",")) if row["ModalitiesInStudy"] else []
                    yield row
        finally:
            result.close()


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
