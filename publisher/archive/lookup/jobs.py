"""Disc job rows, the patients a job's selection names, and the audit trail, read inside the
caller's transaction (a job page reads them together; the hand-out locks the job row while it
checks and writes). The writes stay with their owners: :mod:`publisher.jobs` and
:mod:`publisher.audit`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select

from publisher.db.models import AuditEvent, DiscJob, Patient, Series, Study
from publisher.db.session import Transaction

#: (Patient ID, Patient Name)
PatientName = tuple[str, str]


def disc_job(s: Transaction, job_id: int, *, lock: bool = False) -> DiscJob | None:
    """Job ``job_id``; with ``lock`` its row is locked (SELECT ... FOR UPDATE) until the
    transaction ends."""
    return s.get(DiscJob, job_id, with_for_update=lock)


def recent_jobs(s: Transaction, limit: int, *, state: str | None = None) -> list[DiscJob]:
    """The newest ``limit`` jobs (in ``state`` when given), newest first."""
    stmt = select(DiscJob).order_by(DiscJob.id.desc()).limit(limit)
    if state is not None:
        stmt = stmt.where(DiscJob.state == state)
    return list(s.scalars(stmt))


@dataclass(frozen=True)
class PatientNames:
    """(Patient ID, name) of the patients, studies and series a selection names, by what named them."""

    by_patient_id: dict[str, PatientName] = field(default_factory=dict)
    by_study: dict[str, PatientName] = field(default_factory=dict)
    by_series: dict[str, PatientName] = field(default_factory=dict)


def patient_names(s: Transaction, patient_ids: Collection[str], study_uids: Collection[str],
                  series_uids: Collection[str]) -> PatientNames:
    """Who the patients with ``patient_ids`` are, and whose the studies and series are."""
    by_pid = {p: (p, n) for p, n in s.execute(select(Patient.patient_id, Patient.patient_name)
                                               .where(Patient.patient_id.in_(patient_ids)))} if patient_ids else {}
    by_study = {u: (p, n) for u, p, n in s.execute(
        select(Study.study_instance_uid, Patient.patient_id, Patient.patient_name)
        .join(Patient, Study.patient_fk == Patient.id).where(Study.study_instance_uid.in_(study_uids)))} if study_uids else {}
    by_series = {u: (p, n) for u, p, n in s.execute(
        select(Series.series_instance_uid, Patient.patient_id, Patient.patient_name)
        .join(Study, Series.study_fk == Study.id).join(Patient, Study.patient_fk == Patient.id)
        .where(Series.series_instance_uid.in_(series_uids)))} if series_uids else {}
    return PatientNames(by_pid, by_study, by_series)


def audit_events_of(s: Transaction, action: str, subjects: Collection[str]) -> list[AuditEvent]:
    """The events ``action`` about any of ``subjects``."""
    if not subjects:
        return []
    return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.subject.in_(list(subjects)))))


def audit_events(s: Transaction, limit: int, *, action: str = "", actor: str = "", subject: str = "",
                 before: int = 0) -> list[AuditEvent]:
    """The newest ``limit`` events, filtered by whichever of ``action``, ``actor`` and ``subject``
    are given, older than event ``before`` when it is positive (the audit log's next page)."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if subject:
        stmt = stmt.where(AuditEvent.subject == subject)
    if before > 0:
        stmt = stmt.where(AuditEvent.id < before)
    return list(s.scalars(stmt))


def audit_actions(s: Transaction) -> list[str]:
    """Every action the audit trail holds, sorted."""
    return sorted(a for (a,) in s.execute(select(AuditEvent.action).distinct()))
