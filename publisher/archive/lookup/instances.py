"""Stored instances as the network services need them: what to send (C-STORE SCU), what a
Storage Commitment request names (PS3.4 J.3), what a retrieve already has, and which studies a
worklist entry names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from publisher.archive.identity import resolve_patients
from publisher.db.models import Instance, Patient, Series, Study
from publisher.db.session import Database

#: Rows per ``IN (...)`` list: well under every backend's bound-parameter limit.
CHUNK = 500


@dataclass(frozen=True)
class StoredInstance:
    """One instance as the index files it; ``path`` is relative to the archive root."""

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    path: str
    size: int


@dataclass(frozen=True)
class StudyKeys:
    """The keys a Modality Worklist entry can name an archived study by (PS3.4 K.6.1.2.2)."""

    study_instance_uid: str
    accession_number: str
    patient_id: str


_COLUMNS = (Instance.sop_instance_uid, Instance.sop_class_uid, Instance.transfer_syntax_uid, Instance.path, Instance.size)


def instances_of_selection(db: Database, patients: Sequence[str] = (), studies: Sequence[str] = (),
                           series: Sequence[str] = (), instances: Sequence[str] = ()) -> list[StoredInstance]:
    """The instances of any mix of patients (``ID`` or ``ID\\ISSUER``), study, series and SOP
    instance UIDs, in study, series and instance order; a patient that cannot be named safely
    raises :class:`~publisher.archive.identity.PatientSelectionError`."""
    cond: list[Any] = []
    if patients:
        with db.session() as s:
            cond.append(Patient.id.in_(resolve_patients(s, patients)))
    if studies:
        cond.append(Study.study_instance_uid.in_(list(studies)))
    if series:
        cond.append(Series.series_instance_uid.in_(list(series)))
    if instances:
        cond.append(Instance.sop_instance_uid.in_(list(instances)))
    if not cond:
        return []
    stmt = (
        select(*_COLUMNS)
        .join(Series, Instance.series_fk == Series.id)
        .join(Study, Series.study_fk == Study.id)
        .join(Patient, Study.patient_fk == Patient.id)
        .where(or_(*cond))
        .order_by(Study.id, Series.series_number, Series.id, Instance.instance_number, Instance.id)
    )
    with db.session() as s:
        return [StoredInstance(u, c, t, p, int(n)) for u, c, t, p, n in s.execute(stmt)]


def stored_instances(db: Database, uids: Sequence[str]) -> dict[str, StoredInstance]:
    """The index rows of those of ``uids`` it holds, by SOP Instance UID (the files for a
    Storage Commitment answer)."""
    out: dict[str, StoredInstance] = {}
    with db.session() as s:
        for start in range(0, len(uids), CHUNK):
            chunk = list(uids[start : start + CHUNK])
            for u, c, t, p, n in s.execute(select(*_COLUMNS).where(Instance.sop_instance_uid.in_(chunk))):
                out[u] = StoredInstance(u, c, t, p, int(n))
    return out


def present_instances(db: Database, uids: Sequence[str]) -> set[str]:
    """Which of ``uids`` the index already holds."""
    found: set[str] = set()
    with db.session() as s:
        for start in range(0, len(uids), CHUNK):
            chunk = list(uids[start : start + CHUNK])
            found.update(s.scalars(select(Instance.sop_instance_uid).where(Instance.sop_instance_uid.in_(chunk))))
    return found


def studies_by_uid_or_accession(db: Database, uids: Sequence[str], accessions: Sequence[str]) -> list[StudyKeys]:
    """The archived studies whose Study Instance UID is one of ``uids`` or whose Accession Number
    is one of ``accessions``, with their patient's Patient ID."""
    if not uids and not accessions:
        return []
    stmt = (
        select(Study.study_instance_uid, Study.accession_number, Patient.patient_id)
        .join(Patient, Study.patient_fk == Patient.id)
        .where(or_(Study.study_instance_uid.in_(list(uids) or [""]), Study.accession_number.in_(list(accessions) or [""])))
    )
    with db.session() as s:
        return [StudyKeys(u, a, p) for u, a, p in s.execute(stmt)]
