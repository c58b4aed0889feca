"""Follows the index and queues what the ``[[routes]]`` say for each newly received instance.

Every instance is looked at once, by the routes in force when the router first sees it
(seconds after it arrived): its forward rows and its ``routed_instance`` row are committed in one
transaction, so a restart resumes exactly where the router stopped. The router runs whether or
not routes are configured, so adding a route later never forwards the archive's backlog.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from sqlalchemy import func, select

from publisher.config.routing import Route
from publisher.db.models import ForwardItem, Instance, RoutedInstance, Series, utcnow
from publisher.db.session import Database
from publisher.routing.conditions import Condition, Facts, all_hold

log = logging.getLogger(__name__)

#: Destination name of quarantined instances (held, never sent unless a person releases them).
QUARANTINE = "QUARANTINE"
#: Instances committed out of id order (concurrent transactions) are found within this window
#: below the highest routed id.
WINDOW = 10_000


class Router:
    def __init__(self, db: Database, archive_root: Path, routes: Sequence[Route]) -> None:
        self.db = db
        self.archive_root = archive_root
        self.routes = [(r, [Condition.parse(c) for c in r.when]) for r in routes if r.enabled]

    def tick(self, limit: int = 500) -> int:
        """Route up to ``limit`` instances not yet routed; returns how many were looked at."""
        with self.db.session() as s:
            top = s.scalar(select(func.max(RoutedInstance.instance_fk))) or 0
            rows = s.execute(
                select(Instance.id, Instance.sop_instance_uid, Instance.sop_class_uid, Instance.calling_ae,
                       Instance.peer_address, Instance.path, Series.modality)
                .join(Series, Series.id == Instance.series_fk)
                .outerjoin(RoutedInstance, RoutedInstance.instance_fk == Instance.id)
                .where(RoutedInstance.instance_fk.is_(None), Instance.id > top - WINDOW)
                .order_by(Instance.id).limit(limit)).all()
            if not rows:
                return 0
            queued: list[tuple[str, str, str, str]] = []  # (uid, destination, route, state)
            for iid, uid, sop_class, calling, address, path, modality in rows:
                facts = Facts(calling or "", address or "", modality or "", sop_class,
                              _header_reader(self.archive_root / path))
                for route, conditions in self.routes:
                    try:
                        if not all_hold(conditions, facts):
                            continue
                    except (OSError, ValueError) as exc:
                        log.warning("route %s: instance %s not evaluated: %s", route.name, uid, exc)
                        continue
                    if route.action == "quarantine":
                        queued.append((uid, QUARANTINE, route.name, "held"))
                    else:
                        queued += [(uid, ae, route.name, "pending") for ae in route.forward_to]
            if queued:
                known: set[tuple[str, str]] = {(u, d) for u, d in s.execute(
                    select(ForwardItem.sop_instance_uid, ForwardItem.destination).where(
                        ForwardItem.sop_instance_uid.in_({q[0] for q in queued})))}
                now = utcnow()
                for uid, dest, route_name, state in queued:
                    if (uid, dest) not in known:
                        known.add((uid, dest))
                        s.add(ForwardItem(sop_instance_uid=uid, destination=dest, route=route_name, state=state,
                                          attempts=0, due_at=now, error="", created_at=now))
            s.add_all([RoutedInstance(instance_fk=r[0], routed_at=utcnow()) for r in rows])
        return len(rows)


def _header_reader(path: Path) -> "_Header":
    return _Header(path)


class _Header:
    """The file's header, read once and only when a condition asks for an attribute."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ds: Dataset | None = None

    def __call__(self) -> Dataset:
        if self.ds is None:
            self.ds = dcmread(self.path, stop_before_pixels=True)
        return self.ds
