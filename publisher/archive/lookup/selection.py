"""What a person ticked in the study browser, grouped by patient: the burn preview shows one
disc set per patient (a disc goes to one person) with its size, and the label it will carry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from publisher.db.models import Instance, Patient, Series, Study
from publisher.db.session import Database


@dataclass(frozen=True)
class PatientPick:
    """The studies and series of one patient among a selection, with their totals."""

    patient_pk: int
    patient_id: str
    issuer: str
    name: str
    birth_date: str
    studies: tuple[str, ...]
    series: tuple[str, ...]
    instances: int
    size: int
    study_dates: tuple[str, ...]
    modalities: tuple[str, ...]
    descriptions: tuple[str, ...]


def picks_by_patient(db: Database, studies: Sequence[str], series: Sequence[str]) -> list[PatientPick]:
    """The patients whose studies (``studies``, whole) or series (``series``) were picked, in
    patient row order; a series of a picked study counts once. UIDs not in the index are left out."""
    if not studies and not series:
        return []
    cond = or_(Study.study_instance_uid.in_(list(studies) or [""]), Series.series_instance_uid.in_(list(series) or [""]))
    stmt = (
        select(Patient.id, Study.study_instance_uid, Series.series_instance_uid, Series.modality, Study.study_date,
               Study.study_description, func.count(Instance.id), func.coalesce(func.sum(Instance.size), 0))
        .select_from(Series).join(Study, Series.study_fk == Study.id).join(Patient, Study.patient_fk == Patient.id)
        .outerjoin(Instance, Instance.series_fk == Series.id).where(cond)
        .group_by(Patient.id, Study.id, Series.id)
        .order_by(Patient.id, Study.id, Series.id)
    )
    picked_studies = set(studies)
    acc: dict[int, dict[str, set[str]]] = {}
    totals: dict[int, list[int]] = {}
    with db.session() as s:
        for pk, st_uid, se_uid, modality, date, desc, n, size in s.execute(stmt):
            a = acc.setdefault(pk, {k: set() for k in ("studies", "series", "dates", "mods", "descs")})
            if st_uid in picked_studies:
                a["studies"].add(st_uid)
            else:
                a["series"].add(se_uid)
            for key, value in (("dates", date), ("mods", modality), ("descs", desc)):
                if value:
                    a[key].add(value)
            t = totals.setdefault(pk, [0, 0])
            t[0] += int(n)
            t[1] += int(size)
        people = {p.id: p for p in s.scalars(select(Patient).where(Patient.id.in_(list(acc))))} if acc else {}
    return [
        PatientPick(pk, people[pk].patient_id, people[pk].issuer_of_patient_id, people[pk].patient_name,
                    people[pk].patient_birth_date, tuple(sorted(a["studies"])), tuple(sorted(a["series"])),
                    totals[pk][0], totals[pk][1], tuple(sorted(a["dates"])), tuple(sorted(a["mods"])),
                    tuple(sorted(a["descs"])))
        for pk, a in acc.items()
    ]
