"""Before a disc job is mastered: instances of its selection that retention purged are fetched
back first (:mod:`publisher.retention.restore` does the fetching; the service hands it to the
job context), or the job fails naming what is missing, never a disc short of them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from publisher.archive.purged import Purged, purged_of
from publisher.db.session import Database
from publisher.jobs.records import Selection

#: Fetches purged instances back; returns SOP Instance UID -> why, for those still missing.
Fetch = Callable[[Sequence[Purged]], Mapping[str, str]]


def has_purged(db: Database, selection: Selection) -> bool:
    """Whether retention purged instances of ``selection`` (a job may be queued for them)."""
    return bool(purged_of(db, selection.patients, selection.studies, selection.series))


def fetch_purged(db: Database, selection: Selection, fetch: Fetch | None, exclude: Collection[str] = ()) -> str:
    """Fetch the purged instances of ``selection`` (but ``exclude``) back; "" when none is
    missing afterwards, else the reason the job fails with."""
    gone = [p for p in purged_of(db, selection.patients, selection.studies, selection.series)
            if p.sop_instance_uid not in exclude]
    if not gone:
        return ""
    why: Mapping[str, str] = ({p.sop_instance_uid: "no [retention] retrieve_from is configured" for p in gone}
                              if fetch is None else fetch(gone))
    still = [p for p in purged_of(db, selection.patients, selection.studies, selection.series)
             if p.sop_instance_uid not in exclude]
    if not still:
        return ""
    first = still[0]
    return (f"retrieval: {len(still)} of {len(gone)} purged instance(s) not fetched back, e.g. {first.sop_instance_uid} "
            f"(study {first.study_instance_uid}): {why.get(first.sop_instance_uid, 'not received')}")
