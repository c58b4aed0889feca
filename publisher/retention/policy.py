"""Which instances retention may delete (``[retention] mode = "buffer"``).

An instance is *needed* (never deleted, whatever the disk says) while

- (a) a forward still needs it: the router has not looked at it yet (no ``routed_instance``),
  or one of its ``forward_item`` rows is pending, failed or held (:mod:`publisher.routing.queue`);
- (b) a disc job that is queued, mastering, mastered or burning names its study, its series or
  its patient.

In buffer mode an instance not needed may go once

- (c) where an enabled ``[[rules]]`` table would take its study (its filters match, any lookback),
  a finished (``done``) disc job created after the study's last arrival names its study, series
  or patient: it is burned;
- (d) ``grace_hours`` have passed since it was received.

Age (``max_age_days``) and low-water purges take the oldest instances not needed, (c) and (d)
aside. All times are naive UTC, as stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from publisher.archive.identity import PatientSelectionError, resolve_patients
from publisher.config import DiscRule
from publisher.db.models import DiscJob, ForwardItem, Instance, PurgedInstance, RoutedInstance, Series, Study
from publisher.jobs.records import Selection
from publisher.jobs.state import JobState

#: Jobs whose instances must stay on disk until they are mastered and burned.
ACTIVE = (JobState.QUEUED.value, JobState.MASTERING.value, JobState.MASTERED.value, JobState.BURNING.value)
#: Forward rows that still need their instance.
WAITING = ("pending", "failed", "held")
BATCH = 1000


@dataclass(frozen=True)
class Candidate:
    """An instance retention may delete, and why."""

    sop_instance_uid: str
    size: int
    received_at: dt.datetime
    study_instance_uid: str
    series_instance_uid: str
    patient: int


@dataclass
class Names:
    """What a set of disc jobs names: studies, series (UIDs) and patients (row ids)."""

    studies: set[str] = field(default_factory=set)
    series: set[str] = field(default_factory=set)
    patients: set[int] = field(default_factory=set)

    def add(self, session: Session, text: str | None) -> None:
        try:
            sel = Selection.loads(text)
        except ValueError:
            return
        self.studies.update(sel.studies)
        self.series.update(sel.series)
        if sel.patients:
            try:
                self.patients.update(resolve_patients(session, sel.patients))
            except PatientSelectionError:
                pass

    def covers(self, study: str, series: str, patient: int) -> bool:
        return study in self.studies or series in self.series or patient in self.patients


@dataclass(frozen=True)
class _Row:
    id: int
    uid: str
    size: int
    received_at: dt.datetime
    series: str
    study: str
    study_pk: int
    patient: int


def _candidate(r: _Row) -> Candidate:
    return Candidate(r.uid, r.size, r.received_at, r.study, r.series, r.patient)


def needed_by_jobs(session: Session) -> Names:
    """What the queued and running disc jobs name (b)."""
    names = Names()
    for text in session.scalars(select(DiscJob.selection).where(DiscJob.state.in_(ACTIVE))):
        names.add(session, text)
    return names


def _rows(session: Session, cutoff: dt.datetime | None) -> Iterator[_Row]:
    """Instances received before ``cutoff`` (all when None), oldest first, that no forward needs (a)."""
    waiting = select(ForwardItem.id).where(ForwardItem.sop_instance_uid == Instance.sop_instance_uid,
                                           ForwardItem.state.in_(WAITING))
    routed = select(RoutedInstance.instance_fk).where(RoutedInstance.instance_fk == Instance.id)
    after: tuple[dt.datetime, int] | None = None
    while True:
        q = (select(Instance.id, Instance.sop_instance_uid, Instance.size, Instance.received_at,
                    Series.series_instance_uid, Study.study_instance_uid, Study.id, Study.patient_fk)
             .join(Series, Instance.series_fk == Series.id).join(Study, Series.study_fk == Study.id)
             .where(routed.exists(), ~waiting.exists()))
        if cutoff is not None:
            q = q.where(Instance.received_at < cutoff)
        if after is not None:
            q = q.where(or_(Instance.received_at > after[0], and_(Instance.received_at == after[0], Instance.id > after[1])))
        batch = [_Row(int(i), u, int(n), r, se, st, int(spk), int(p))
                 for i, u, n, r, se, st, spk, p in session.execute(q.order_by(Instance.received_at, Instance.id).limit(BATCH))]
        yield from batch
        if len(batch) < BATCH:
            return
        after = (batch[-1].received_at, batch[-1].id)


def _rule_matches(rule: DiscRule, modalities: set[str], callers: set[str]) -> bool:
    """Would ``rule`` take a study of these modalities and calling AEs (its filters only)."""
    return ((not rule.modalities or bool(modalities & set(rule.modalities)))
            and (not rule.calling_aes or bool(callers & set(rule.calling_aes))))


def _studies(session: Session, pks: Iterable[int]) -> dict[int, tuple[dt.datetime, set[str], set[str]]]:
    """Study row id -> (last arrival, modalities, calling AEs) over all its instances."""
    out: dict[int, tuple[dt.datetime, set[str], set[str]]] = {}
    wanted = list(set(pks))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for pk, modality, caller, latest in session.execute(
                select(Series.study_fk, Series.modality, Instance.calling_ae, func.max(Instance.received_at))
                .join(Instance, Instance.series_fk == Series.id).where(Series.study_fk.in_(chunk))
                .group_by(Series.study_fk, Series.modality, Instance.calling_ae)):
            last, mods, callers = out.get(int(pk), (latest, set(), set()))
            mods.add(modality or "")
            callers.add(caller or "")
            out[int(pk)] = (max(last, latest), mods, callers)
    return out


def _burned(session: Session, since: dt.datetime) -> list[tuple[dt.datetime, Names]]:
    """The finished disc jobs created at or after ``since``, each with what it names."""
    out = []
    for created, text in session.execute(select(DiscJob.created_at, DiscJob.selection)
                                         .where(DiscJob.state == JobState.DONE.value, DiscJob.created_at >= since)):
        names = Names()
        names.add(session, text)
        out.append((created, names))
    return out


def discs_holding(session: Session, study_uid: str) -> list[int]:
    """The finished disc jobs that hold ``study_uid`` (naming it, a series of it or its patient),
    purged or not: the index keeps knowing them after retention deleted the instances."""
    series = set(session.scalars(select(PurgedInstance.series_instance_uid).where(PurgedInstance.study_instance_uid == study_uid)))
    series |= set(session.scalars(select(Series.series_instance_uid).join(Study, Series.study_fk == Study.id)
                                  .where(Study.study_instance_uid == study_uid)))
    patient = session.scalar(select(Study.patient_fk).where(Study.study_instance_uid == study_uid))
    out = []
    for job_id, text in session.execute(select(DiscJob.id, DiscJob.selection).where(DiscJob.state == JobState.DONE.value)
                                        .order_by(DiscJob.id)):
        names = Names()
        names.add(session, text)
        if study_uid in names.studies or names.series & series or (patient is not None and patient in names.patients):
            out.append(int(job_id))
    return out


def buffer_deletable(session: Session, rules: Sequence[DiscRule], grace_hours: float, now: dt.datetime) -> list[Candidate]:
    """Instances buffer mode deletes at ``now``: (a) to (d) of the module doc, oldest first."""
    rows = list(_rows(session, now - dt.timedelta(hours=grace_hours)))
    if not rows:
        return []
    jobs = needed_by_jobs(session)
    rows = [r for r in rows if not jobs.covers(r.study, r.series, r.patient)]
    enabled = [r for r in rules if r.enabled]
    if not enabled or not rows:
        return [_candidate(r) for r in rows]
    studies = _studies(session, (r.study_pk for r in rows))
    burned = _burned(session, min(s[0] for s in studies.values()))
    out = []
    for r in rows:
        latest, mods, callers = studies[r.study_pk]
        if any(_rule_matches(rule, mods, callers) for rule in enabled):
            if not any(created >= latest and names.covers(r.study, r.series, r.patient) for created, names in burned):
                continue
        out.append(_candidate(r))
    return out


def unneeded(session: Session, older_than: dt.datetime | None = None) -> Iterator[Candidate]:
    """Instances neither a forward nor a disc job needs ((a) and (b) only), oldest first; only
    those received before ``older_than`` when given (the age purge)."""
    jobs = needed_by_jobs(session)
    for r in _rows(session, older_than):
        if not jobs.covers(r.study, r.series, r.patient):
            yield _candidate(r)


__all__ = ["ACTIVE", "Candidate", "Names", "buffer_deletable", "discs_holding", "needed_by_jobs", "unneeded"]
