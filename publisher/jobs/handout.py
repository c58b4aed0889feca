"""Which discs the front desk may hand out, and which are superseded.

A job's good discs may be handed out once the job ended: done, and also failed or cancelled
(34 of 40 discs good are 34 discs a patient can take). A job is *superseded* when a later job
burned the same selection (or more) from more instances and made good discs: typically a rule
burned a study while it was incomplete, more images arrived, and the rule burned it again
complete. Its discs are marked and handed out only with an override (audited). A second copy
burned from the same image (:func:`publisher.jobs.again.burn_again`) holds the same instances:
it supersedes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from publisher.archive import lookup
from publisher.db.models import DiscJob
from publisher.db.session import Transaction
from publisher.jobs import records
from publisher.jobs.state import JobState

#: states whose good discs may be handed out
HANDABLE_STATES = (JobState.DONE.value, JobState.FAILED.value, JobState.CANCELLED.value)
#: how many recent jobs are looked at for a later, complete burn
LOOK_AT = 500


def good_discs(job: DiscJob) -> list[records.Disc]:
    """The discs of ``job`` a person may take: the good ones once it ended; a folder / USB job
    that is done has one "disc" per volume."""
    if job.state not in HANDABLE_STATES:
        return []
    discs = [d for d in records.load_discs(job.discs) if d.ok]
    if not discs and job.state == JobState.DONE.value and not records.load_discs(job.discs):
        discs = [records.Disc(v.number, 1) for v in records.load_volumes(job.volumes)]
    return discs


def instances_on(s: Transaction, jobs: Sequence[DiscJob]) -> dict[int, int]:
    """How many instances each job's volumes hold (from the audit's ``media-export`` event of
    each volume image: File-set IDs repeat between jobs, the image paths do not; a job burned
    again from the kept image shares its volumes and so its count)."""
    images: dict[str, list[int]] = {}
    for j in jobs:
        for v in records.load_volumes(j.volumes):
            images.setdefault(v.image, []).append(j.id)
    fsids = {v.file_set_id for j in jobs for v in records.load_volumes(j.volumes) if v.file_set_id}
    out = {j.id: 0 for j in jobs}
    for e in lookup.audit_events_of(s, "media-export", list(fsids)):
        detail = json.loads(e.detail or "{}")
        for job_id in images.get(str(detail.get("image", "")), []):
            out[job_id] += int(detail.get("instances", 0))
    return out


def _covers(later: records.Selection, earlier: records.Selection) -> bool:
    return bool(later.patients or later.studies or later.series) and set(earlier.patients) <= set(later.patients) \
        and set(earlier.studies) <= set(later.studies) and set(earlier.series) <= set(later.series)


def superseded(s: Transaction, jobs: Sequence[DiscJob]) -> dict[int, int]:
    """Job id -> the later job that supersedes it, for those of ``jobs`` that are superseded."""
    later = [j for j in lookup.recent_jobs(s, LOOK_AT) if good_discs(j)]
    pool = {j.id: j for j in [*jobs, *later]}
    counts = instances_on(s, list(pool.values()))
    out: dict[int, int] = {}
    for job in jobs:
        mine = records.Selection.loads(job.selection)
        newer = [b for b in later if b.id > job.id and counts[b.id] > counts[job.id]
                 and _covers(records.Selection.loads(b.selection), mine)]
        if newer:
            out[job.id] = max(b.id for b in newer)
    return out
