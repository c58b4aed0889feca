"""Running a :class:`~publisher.archive.query.keys.Query` against the index in two steps.

First the ids of the matching entities (one indexed query, no ORDER BY that could tempt the
planner into an index-order scan), then their attributes and counts by batches of ids, so the
cost of a search grows with the result and not with the archive.
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


#: Result order per level (applied in Python to the ids, so SQL never sorts the archive).
_ORDER: dict[Level, tuple[InstrumentedAttribute[Any], ...]] = {
    Level.PATIENT: (Patient.patient_name_norm,),
    Level.STUDY: (Study.study_date, Study.study_time),
    Level.SERIES: (Series.series_number,),
    Level.IMAGE: (Series.id, Instance.instance_number),
}


def matching_ids(session: Session, query: Query) -> list[int]:
    """Ids of the entities of ``query.level`` that match, in a stable display order."""
    entity = ENTITY[query.level]
    matcher = Matcher(session.get_bind().dialect.name)
    order = _ORDER[query.level]
    stmt = _joined(query.level, entity.id, *order).where(*conditions(query, matcher))
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
    entity = ENTITY[query.level]
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
