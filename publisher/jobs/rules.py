"""Unattended burn rules: which groups of studies are quiet and not yet burned.

A rule (``[[rules]]`` in the configuration, :class:`publisher.config.DiscRule`) burns a group,
one study or one patient's studies, once no instance of it arrived for ``quiet_minutes``
(the newest ``Instance.received_at``, an indexed column). The state "already burned" lives in
the jobs themselves, not in a table of its own: a job a rule makes carries
``created_by = "rule:<name>"`` and its selection names the studies. A study is covered by such a
job when the job was created at or after the study's last arrival; when instances arrive after
the job, the study is pending again and, once quiet again, goes on a second disc, complete.
A job covers its studies whatever became of it (done, failed, cancelled): a failed rule job is
resubmitted by a person, never burned again by itself (docs/architecture.md, section 7).
A study already on a finished disc (a ``done`` job of anyone, made after the study's last
arrival, naming it by UID) is not burned either: enabling a rule never re-burns what went out
on disc already. :func:`dry_run` tells what a rule would burn now, before it is enabled.

:func:`due_groups` is the evaluation: reads only, from the index and the job table, with the
moment ``now`` given, so it is tested without waiting. All times are naive UTC, as stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session

from publisher.config import DiscRule as Rule
from publisher.db.models import DiscJob, Instance, Patient, Series, Study
from publisher.jobs.records import Selection
from publisher.jobs.selection import select_instances
from publisher.jobs.state import JobState
from publisher.jobs.viewer import estimate_parts, volume_extras
from publisher.media import MediaError, MediaType
from publisher.media.plan import plan_volumes

__all__ = ["AUTO_MEDIA", "DryRun", "Group", "Rule", "creator", "dry_run", "due_groups", "media_for"]

#: What ``media = "auto"`` chooses from, smallest first.
AUTO_MEDIA: tuple[MediaType, ...] = (MediaType.CD, MediaType.DVD, MediaType.BD)


def creator(rule: Rule) -> str:
    """The ``created_by`` of the jobs ``rule`` makes: how its burned groups are recognised."""
    return f"rule:{rule.name}"


@dataclass(frozen=True)
class _StudyState:
    """One study that had an arrival within the rule's lookback."""

    pk: int
    uid: str
    patient_pk: int
    patient_id: str
    latest: dt.datetime
    instances: int
    size: int
    matches: bool


@dataclass(frozen=True)
class Group:
    """Studies a rule burns on one job: one study, or the pending studies of one patient."""

    rule: str
    patient_id: str
    studies: tuple[str, ...]
    #: The last arrival in the group (naive UTC).
    latest: dt.datetime
    instances: int
    size: int
    #: The newest job of this rule that already named one of the studies (a re-burn), if any.
    previous_job: int | None = None

    @property
    def selection(self) -> Selection:
        """What the job burns: the studies by UID (so another issuer's same Patient ID stays out)."""
        return Selection(studies=self.studies)

    def describe(self) -> str:
        studies = f"study {self.studies[0]}" if len(self.studies) == 1 else f"{len(self.studies)} studies"
        return f"{studies} of patient {self.patient_id or '(no ID)'}"

    def reason(self, rule: Rule) -> str:
        """Why the rule burns it now, for the log and the audit trail."""
        why = (f"{self.instances} instance(s), {self.size / 1e6:.1f} MB; quiet since {self.latest:%Y-%m-%d %H:%M:%S} UTC"
               f" (rule wants {rule.quiet_minutes:g} min)")
        if self.previous_job is not None:
            why += f"; instances arrived after job {self.previous_job}, so a new disc with everything"
        return why


@dataclass(frozen=True)
class DryRun:
    """What a rule would do at a moment: the groups it would burn, the studies it leaves out
    because they are on a finished disc already (UID -> that job's id), and how many pending
    studies still receive (not quiet yet)."""

    due: list[Group]
    on_disc: dict[str, int]
    still_receiving: int


def due_groups(session: Session, rule: Rule, now: dt.datetime) -> list[Group]:
    """The groups ``rule`` should burn at ``now`` (naive UTC); see :func:`dry_run`."""
    return dry_run(session, rule, now).due


def dry_run(session: Session, rule: Rule, now: dt.datetime) -> DryRun:
    """The groups ``rule`` should burn at ``now`` (naive UTC), oldest arrival first.

    A study is pending when it matches the rule's filters, had an arrival within
    ``lookback_hours`` and no job of this rule covers it (created at or after its last arrival).
    Pending studies are grouped per study or per patient; a group is due when its last arrival
    is at least ``quiet_minutes`` before ``now`` (a patient's group waits for all its studies).
    """
    since = now - dt.timedelta(hours=rule.lookback_hours)
    quiet_from = now - dt.timedelta(minutes=rule.quiet_minutes)
    covered = _covering_jobs(session, since, creator(rule))
    burned = _covering_jobs(session, since, None)
    on_disc: dict[str, int] = {}
    groups: dict[int, list[_StudyState]] = {}
    previous: dict[int, int] = {}
    for st in _recent_studies(session, rule, since):
        if not st.matches:
            continue
        job = covered.get(st.uid)
        if job is not None and job[0] >= st.latest:
            continue
        disc = burned.get(st.uid)
        if disc is not None and disc[0] >= st.latest:
            on_disc[st.uid] = disc[1]
            continue
        key = st.pk if rule.group_by == "study" else st.patient_pk
        groups.setdefault(key, []).append(st)
        if job is not None:
            previous[key] = max(previous.get(key, 0), job[1])
    due, receiving = [], 0
    for key, members in groups.items():
        latest = max(m.latest for m in members)
        if latest > quiet_from:
            receiving += len(members)
            continue
        members.sort(key=lambda m: (m.latest, m.uid))
        due.append(Group(rule.name, members[0].patient_id, tuple(m.uid for m in members), latest,
                         sum(m.instances for m in members), sum(m.size for m in members), previous.get(key)))
    due.sort(key=lambda g: (g.latest, g.studies))
    return DryRun(due, on_disc, receiving)


def _recent_studies(session: Session, rule: Rule, since: dt.datetime) -> list[_StudyState]:
    """Studies with an arrival at or after ``since`` (found through ``ix_instance_received``),
    with their last arrival over all their instances and whether the filters match."""
    touched = (select(Series.study_fk).join(Instance, Instance.series_fk == Series.id)
               .where(Instance.received_at >= since).distinct())
    conditions = []
    if rule.modalities:
        conditions.append(Series.modality.in_(list(rule.modalities)))
    if rule.calling_aes:
        conditions.append(Instance.calling_ae.in_(list(rule.calling_aes)))
    matches = func.max(case((and_(true(), *conditions), 1), else_=0))
    rows = session.execute(
        select(Study.id, Study.study_instance_uid, Patient.id, Patient.patient_id, func.max(Instance.received_at),
               func.count(Instance.id), func.coalesce(func.sum(Instance.size), 0), matches)
        .join(Series, Instance.series_fk == Series.id)
        .join(Study, Series.study_fk == Study.id)
        .join(Patient, Study.patient_fk == Patient.id)
        .where(Study.id.in_(touched))
        .group_by(Study.id, Study.study_instance_uid, Patient.id, Patient.patient_id)
    ).all()
    return [_StudyState(int(pk), uid, int(ppk), pid, latest, int(n), int(size), bool(m))
            for pk, uid, ppk, pid, latest, n, size, m in rows]


def _covering_jobs(session: Session, since: dt.datetime, created_by: str | None) -> dict[str, tuple[dt.datetime, int]]:
    """Study UID -> (created_at, id) of the newest job naming it, among jobs created at or after
    ``since`` (an older job cannot cover a study with an arrival since then): the jobs made by
    ``created_by`` in any state, or (None) the finished (``done``) jobs of anyone."""
    newest: dict[str, tuple[dt.datetime, int]] = {}
    which = DiscJob.created_by == created_by if created_by is not None else DiscJob.state == JobState.DONE.value
    rows = session.execute(
        select(DiscJob.id, DiscJob.created_at, DiscJob.selection).where(which, DiscJob.created_at >= since)
    ).all()
    for job_id, created_at, selection in rows:
        try:
            studies = Selection.loads(selection).studies
        except ValueError:
            continue  # not a selection this module wrote
        for uid in studies:
            if uid not in newest or newest[uid] < (created_at, job_id):
                newest[uid] = (created_at, int(job_id))
    return newest


def media_for(session: Session, rule: Rule, selection: Selection, archive_root: Path, *, viewer: bool = True,
              loadable: Collection[MediaType | str] = AUTO_MEDIA) -> MediaType:
    """The medium of the rule's job: as configured, or for ``auto`` the smallest of
    :data:`AUTO_MEDIA` the robot can load (``loadable``) that holds the selection with its
    viewer on one disc; the largest when none does (the job then spans several discs)."""
    if rule.media != "auto":
        return MediaType(rule.media)
    candidates: Sequence[MediaType] = [m for m in AUTO_MEDIA if m in loadable] or list(AUTO_MEDIA)
    try:
        instances, rejected = select_instances(session, selection, archive_root)
        kept = [i for i in instances if i.sop_instance_uid not in rejected]
        parts = estimate_parts(kept) if viewer and kept else None
    except (OSError, ValueError):
        return candidates[0]  # the size is unknown: mastering will tell what is wrong
    for media in candidates:
        try:
            extras = volume_extras(parts, media) if parts else None
            if len(plan_volumes(kept, media, extras=extras)) == 1:
                return media
        except MediaError:
            continue
    return candidates[-1]
