"""Patients, studies and series with their counts, as the web's JSON API and study browser show
them (the C-FIND view of the same index is :mod:`publisher.archive.query`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from publisher.db.models import Instance, Patient, Series, Study
from publisher.db.session import Database

#: Rows per ``IN (...)`` list: well under every backend's bound-parameter limit.
CHUNK = 500


@dataclass(frozen=True)
class PatientSummary:
    pk: int
    patient_id: str
    issuer: str
    name: str
    birth_date: str
    sex: str
    studies: int


@dataclass(frozen=True)
class StudySummary:
    study_instance_uid: str
    date: str
    time: str
    accession_number: str
    description: str
    series: int
    instances: int


@dataclass(frozen=True)
class SeriesSummary:
    pk: int
    study_pk: int
    series_instance_uid: str
    modality: str
    number: int | None
    description: str
    instances: int


def _series(se: Series, n: int) -> SeriesSummary:
    return SeriesSummary(se.id, se.study_fk, se.series_instance_uid, se.modality, se.series_number,
                         se.series_description, int(n))


def patients_page(db: Database, *, limit: int, offset: int) -> list[PatientSummary]:
    """Patients by normalised name (then row), ``limit`` of them from ``offset``, each with its
    number of studies."""
    n_studies = func.count(func.distinct(Study.id))
    with db.session() as s:
        rows = s.execute(
            select(Patient, n_studies)
            .outerjoin(Study, Study.patient_fk == Patient.id)
            .group_by(Patient.id)
            .order_by(Patient.patient_name_norm, Patient.id)
            .limit(limit)
            .offset(offset)
        ).all()
        return [PatientSummary(p.id, p.patient_id, p.issuer_of_patient_id, p.patient_name, p.patient_birth_date,
                               p.patient_sex, int(n)) for p, n in rows]


def studies_of_patient(db: Database, patient_pk: int) -> list[StudySummary] | None:
    """The studies of patient row ``patient_pk``, newest first, with series and instance counts;
    None when there is no such patient."""
    with db.session() as s:
        if s.get(Patient, patient_pk) is None:
            return None
        rows = s.execute(
            select(Study, func.count(func.distinct(Series.id)), func.count(Instance.id))
            .outerjoin(Series, Series.study_fk == Study.id)
            .outerjoin(Instance, Instance.series_fk == Series.id)
            .where(Study.patient_fk == patient_pk)
            .group_by(Study.id)
            .order_by(Study.study_date.desc())
        ).all()
        return [StudySummary(st.study_instance_uid, st.study_date, st.study_time, st.accession_number,
                             st.study_description, int(ns), int(ni)) for st, ns, ni in rows]


def series_of_study(db: Database, study_uid: str) -> list[SeriesSummary] | None:
    """The series of the study ``study_uid`` by Series Number, with instance counts; None when the
    index has no such study."""
    with db.session() as s:
        study = s.scalar(select(Study).where(Study.study_instance_uid == study_uid))
        if study is None:
            return None
        rows = s.execute(
            select(Series, func.count(Instance.id))
            .outerjoin(Instance, Instance.series_fk == Series.id)
            .where(Series.study_fk == study.id)
            .group_by(Series.id)
            .order_by(Series.series_number)
        ).all()
        return [_series(se, n) for se, n in rows]


def series_of_studies(db: Database, study_pks: Iterable[int]) -> dict[int, list[SeriesSummary]]:
    """The series of each study row in ``study_pks`` with instance counts, by Series Number
    (series without one last, then in the order they were filed)."""
    pks = list(study_pks)
    out: dict[int, list[SeriesSummary]] = {pk: [] for pk in pks}
    with db.session() as s:
        for start in range(0, len(pks), CHUNK):
            rows = s.execute(
                select(Series, func.count(Instance.id)).outerjoin(Instance, Instance.series_fk == Series.id)
                .where(Series.study_fk.in_(pks[start:start + CHUNK])).group_by(Series.id)
            ).all()
            for se, n in rows:
                out[se.study_fk].append(_series(se, n))
    for items in out.values():
        items.sort(key=lambda x: (x.number is None, x.number or 0, x.pk))
    return out
