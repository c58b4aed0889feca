"""The radiologist's worklist: studies newest arrival first, a page at a time, with what a person
decides a burn on (received, modalities, instances, size, sending AE) and the disc jobs that
already hold each study. Names are searched on their folded form (:func:`search_fold`) with the
C-FIND wildcards (:func:`publisher.archive.query.matching.name_part_condition`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select

from publisher.archive.metadata import search_fold
from publisher.archive.query.matching import date_condition, id_condition, match, name_part_condition
from publisher.db.models import DiscJob, Instance, Patient, Series, Study
from publisher.db.session import Database, Transaction

#: Rows per ``IN (...)`` list: well under every backend's bound-parameter limit.
CHUNK = 500


@dataclass(frozen=True)
class WorklistFilter:
    """What a person narrows the worklist by; empty fields do not narrow. ``name`` and
    ``patient_id`` as typed (wildcards ``*`` ``?``), study dates as DICOM DA, ``received_from``
    inclusive and ``received_before`` exclusive (naive UTC)."""

    name: str = ""
    patient_id: str = ""
    accession: str = ""
    study_from: str = ""
    study_to: str = ""
    received_from: dt.datetime | None = None
    received_before: dt.datetime | None = None
    modality: str = ""
    sending_ae: str = ""


@dataclass(frozen=True)
class JobRef:
    """A disc job that holds (part of) a study: id, state, medium, copies."""

    id: int
    state: str
    media: str
    copies: int


@dataclass(frozen=True)
class WorklistStudy:
    pk: int
    study_instance_uid: str
    patient_pk: int
    patient_id: str
    issuer: str
    patient_name: str
    birth_date: str
    study_date: str
    accession_number: str
    description: str
    #: when the study's first instance arrived (naive UTC)
    received_at: dt.datetime
    last_received_at: dt.datetime | None = None
    modalities: tuple[str, ...] = ()
    series: int = 0
    instances: int = 0
    size: int = 0
    sending_aes: tuple[str, ...] = ()
    jobs: tuple[JobRef, ...] = ()


@dataclass(frozen=True)
class WorklistPage:
    studies: list[WorklistStudy]
    total: int
    offset: int
    limit: int = 50
    modalities: tuple[str, ...] = field(default_factory=tuple)


def _conditions(f: WorklistFilter, dialect: str) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool] | None] = []
    if f.name.strip():
        conds.append(name_part_condition(Patient.patient_name_search, search_fold(f.name), dialect))
    if f.patient_id.strip():
        conds.append(id_condition(Patient.patient_id, f.patient_id, dialect))
    if f.accession.strip():
        conds.append(match(Study.accession_number.expression, f.accession.strip(), dialect))
    if f.study_from or f.study_to:
        conds.append(date_condition(Study.study_date.expression, f"{f.study_from}-{f.study_to}" if f.study_from != f.study_to
                                    else f.study_from))
    if f.received_from is not None:
        conds.append(Study.created_at >= f.received_from)
    if f.received_before is not None:
        conds.append(Study.created_at < f.received_before)
    if f.modality.strip():
        conds.append(exists(select(Series.id).where(Series.study_fk == Study.id, Series.modality == f.modality.strip())))
    if f.sending_ae.strip():
        conds.append(exists(select(Instance.id).join(Series, Instance.series_fk == Series.id)
                            .where(Series.study_fk == Study.id, Instance.calling_ae == f.sending_ae.strip())))
    return [c for c in conds if c is not None]


def worklist(db: Database, f: WorklistFilter, *, limit: int = 50, offset: int = 0) -> WorklistPage:
    """Studies matching ``f``, newest arrival first (then newest row), ``limit`` from ``offset``,
    with the total that match; a bad date in ``f`` raises QueryError."""
    with db.session() as s:
        dialect = s.get_bind().dialect.name
        conds = _conditions(f, dialect)
        base = select(Study.id).join(Patient, Study.patient_fk == Patient.id).where(*conds)
        total = int(s.scalar(select(func.count()).select_from(base.subquery())) or 0)
        pks = list(s.scalars(base.order_by(Study.created_at.desc(), Study.id.desc()).limit(limit).offset(offset)))
        studies = _details(s, pks)
        mods = tuple(sorted(m for m in s.scalars(select(Series.modality).distinct()) if m))
    return WorklistPage(studies, total, offset, limit, mods)


def _details(s: Transaction, pks: Sequence[int]) -> list[WorklistStudy]:
    if not pks:
        return []
    rows = {st.id: (st, p) for st, p in s.execute(select(Study, Patient).join(Patient, Study.patient_fk == Patient.id)
                                                  .where(Study.id.in_(pks)))}
    counts = {pk: (int(n), int(size or 0), last) for pk, n, size, last in s.execute(
        select(Series.study_fk, func.count(Instance.id), func.sum(Instance.size), func.max(Instance.received_at))
        .join(Instance, Instance.series_fk == Series.id).where(Series.study_fk.in_(pks)).group_by(Series.study_fk))}
    series: dict[int, list[tuple[str, str]]] = {pk: [] for pk in pks}
    for pk, uid, modality in s.execute(select(Series.study_fk, Series.series_instance_uid, Series.modality)
                                       .where(Series.study_fk.in_(pks))):
        series[pk].append((uid, modality))
    aes: dict[int, set[str]] = {pk: set() for pk in pks}
    for pk, ae in s.execute(select(Series.study_fk, Instance.calling_ae).join(Instance, Instance.series_fk == Series.id)
                            .where(Series.study_fk.in_(pks)).distinct()):
        if ae:
            aes[pk].add(ae)
    jobs = _jobs(s, [(pk, rows[pk][0].study_instance_uid, [u for u, _ in series[pk]], rows[pk][1]) for pk in pks])
    out = []
    for pk in pks:
        st, p = rows[pk]
        n, size, last = counts.get(pk, (0, 0, None))
        out.append(WorklistStudy(
            pk, st.study_instance_uid, p.id, p.patient_id, p.issuer_of_patient_id, p.patient_name, p.patient_birth_date,
            st.study_date, st.accession_number, st.study_description, st.created_at, last,
            tuple(sorted({m for _, m in series[pk] if m})), len(series[pk]), n, size, tuple(sorted(aes[pk])),
            tuple(jobs.get(pk, ()))))
    return out


def _patient_keys(p: Patient) -> set[str]:
    """How a job's selection names patient ``p`` (``ID`` or ``ID\\ISSUER``)."""
    return {p.patient_id, f"{p.patient_id}\\{p.issuer_of_patient_id}"} if p.patient_id else set()


def _jobs(s: Transaction, studies: Iterable[tuple[int, str, list[str], Patient]]) -> dict[int, list[JobRef]]:
    """The jobs whose selection names each study, one of its series or its patient, newest first."""
    wanted = list(studies)
    needles = {n for _, uid, series, p in wanted for n in [uid, *series, *_patient_keys(p)]}
    if not needles:
        return {}
    found: dict[int, tuple[JobRef, dict[str, Any]]] = {}
    ordered = sorted(needles)
    for start in range(0, len(ordered), CHUNK):
        like = or_(*(DiscJob.selection.contains(json.dumps(n)) for n in ordered[start:start + CHUNK]))
        for j in s.scalars(select(DiscJob).where(like)):
            try:
                sel = json.loads(j.selection or "{}")
            except ValueError:
                continue
            found[j.id] = (JobRef(j.id, j.state, j.media, j.copies), sel if isinstance(sel, dict) else {})
    out: dict[int, list[JobRef]] = {}
    for pk, uid, series, p in wanted:
        for job_id in sorted(found, reverse=True):
            ref, sel = found[job_id]
            if uid in sel.get("studies", ()) or set(series) & set(sel.get("series", ())) or \
                    _patient_keys(p) & set(sel.get("patients", ())):
                out.setdefault(pk, []).append(ref)
    return out
