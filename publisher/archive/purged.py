"""Instances retention let go: the one writer of ``purged_instance`` and of their deletion.

Deleting an instance (:func:`purge`) is "row out, purged row in, one commit; then the file",
under the instance's UID lock (:mod:`publisher.archive.uid_lock`), so an instance arriving again
meanwhile is never the file unlinked, and no row ever names a file that is gone (a kill between
commit and unlink leaves an orphan file, which ``publisher archive check`` reports). Parent rows
(patient, study, series) stay: the index still knows which patient and study a purged instance
belonged to, and disc jobs name studies by UID, so it still knows which discs hold them.
When a purged instance is back (fetched from a PACS), :func:`restored` drops its purged row,
gives it its first arrival time again and marks it routed: a restore is not a new arrival, so
neither the burn rules nor the router act on it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, or_, select, update

from publisher.archive.identity import resolve_patients
from publisher.archive.uid_lock import UidLocks
from publisher.db.models import Instance, PurgedInstance, RoutedInstance, Series, Study, utcnow
from publisher.db.session import Database

CHUNK = 500


@dataclass(frozen=True)
class Purged:
    """One purged instance as the index keeps it."""

    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    sop_class_uid: str
    path: str
    size: int
    received_at: dt.datetime
    purged_at: dt.datetime


def _record(r: PurgedInstance) -> Purged:
    return Purged(r.sop_instance_uid, r.series_instance_uid, r.study_instance_uid, r.sop_class_uid, r.path, int(r.size),
                  r.received_at, r.purged_at)


def purge(db: Database, root: Path, sop_instance_uid: str, reason: str) -> Purged | None:
    """Delete one instance's row and file, keeping a ``purged_instance`` row; None when the
    index no longer holds it."""
    with UidLocks(root).hold(sop_instance_uid):
        with db.session() as s:
            row = s.execute(select(Instance, Series.series_instance_uid, Study.study_instance_uid, Study.patient_fk)
                            .join(Series, Instance.series_fk == Series.id).join(Study, Series.study_fk == Study.id)
                            .where(Instance.sop_instance_uid == sop_instance_uid)).first()
            if row is None:
                return None
            inst, series_uid, study_uid, patient_fk = row
            now = utcnow()
            s.execute(delete(PurgedInstance).where(PurgedInstance.sop_instance_uid == sop_instance_uid))
            s.add(PurgedInstance(sop_instance_uid=sop_instance_uid, series_instance_uid=series_uid,
                                 study_instance_uid=study_uid, patient_fk=patient_fk, sop_class_uid=inst.sop_class_uid,
                                 path=inst.path, size=inst.size, received_at=inst.received_at, purged_at=now,
                                 reason=reason[:16]))
            out = Purged(sop_instance_uid, series_uid, study_uid, inst.sop_class_uid, inst.path, int(inst.size),
                         inst.received_at, now)
            s.execute(delete(Instance).where(Instance.id == inst.id))
        (root / out.path).unlink(missing_ok=True)
    return out


def purged_of(db: Database, patients: Sequence[str] = (), studies: Sequence[str] = (),
              series: Sequence[str] = ()) -> list[Purged]:
    """The purged instances of a selection (patients ``ID`` or ``ID\\ISSUER``, study and series
    UIDs) that the index does not hold again, in study and series order."""
    cond = []
    with db.reading() as s:
        if patients:
            cond.append(PurgedInstance.patient_fk.in_(resolve_patients(s, patients)))
        if studies:
            cond.append(PurgedInstance.study_instance_uid.in_(list(studies)))
        if series:
            cond.append(PurgedInstance.series_instance_uid.in_(list(series)))
        if not cond:
            return []
        back = select(Instance.sop_instance_uid).where(Instance.sop_instance_uid == PurgedInstance.sop_instance_uid)
        rows = s.scalars(select(PurgedInstance).where(or_(*cond), ~back.exists())
                         .order_by(PurgedInstance.study_instance_uid, PurgedInstance.series_instance_uid,
                                   PurgedInstance.sop_instance_uid)).all()
        return [_record(r) for r in rows]


def restored(db: Database, sop_instance_uids: Sequence[str]) -> int:
    """The instances of ``sop_instance_uids`` the index holds again: purged rows dropped, first
    arrival time given back, marked routed. Returns how many were restored."""
    n = 0
    for start in range(0, len(sop_instance_uids), CHUNK):
        chunk = list(sop_instance_uids[start:start + CHUNK])
        with db.session() as s:
            first = dict(s.execute(select(PurgedInstance.sop_instance_uid, PurgedInstance.received_at)
                                   .where(PurgedInstance.sop_instance_uid.in_(chunk))).all())
            ids = dict(s.execute(select(Instance.sop_instance_uid, Instance.id)
                                 .where(Instance.sop_instance_uid.in_(list(first)))).all())
            routed = set(s.scalars(select(RoutedInstance.instance_fk).where(RoutedInstance.instance_fk.in_(list(ids.values())))))
            for uid, iid in ids.items():
                s.execute(update(Instance).where(Instance.id == iid).values(received_at=first[uid]))
                if iid not in routed:
                    s.add(RoutedInstance(instance_fk=iid, routed_at=utcnow()))
            s.execute(delete(PurgedInstance).where(PurgedInstance.sop_instance_uid.in_(list(ids))))
            n += len(ids)
    return n
