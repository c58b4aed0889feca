"""The durable forward queue: one ``forward_item`` row per instance and destination.

A row is queued in the same transaction that marks its instance routed
(:mod:`publisher.routing.router`), so a killed process neither loses nor repeats a routing
decision. A row becomes ``sent`` only once the destination answered the C-STORE with success
(or a warning, PS3.4 B.2.3), committed before the next instance is sent; after a restart only
rows not yet sent are sent, so what the destination acknowledged is never sent again (at most
the one instance in flight at the moment of a kill, which a destination stores once: PS3.4
B.4.1, the same SOP Instance UID).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Update, func, select, update

from publisher.db.models import ForwardItem, utcnow
from publisher.db.session import Database

STATES = ("pending", "sent", "failed", "cancelled", "held")


@dataclass(frozen=True)
class QueuedItem:
    """A row of the queue as the web UI and the CLI show it."""

    id: int
    sop_instance_uid: str
    destination: str
    route: str
    state: str
    attempts: int
    due_at: dt.datetime
    error: str
    sent_at: dt.datetime | None


def _item(row: ForwardItem) -> QueuedItem:
    return QueuedItem(row.id, row.sop_instance_uid, row.destination, row.route, row.state, row.attempts,
                      row.due_at, row.error, row.sent_at)


def due(db: Database, destination: str, limit: int, now: dt.datetime | None = None) -> list[QueuedItem]:
    """Pending rows for ``destination`` whose time has come, oldest first."""
    with db.session() as s:
        rows = s.scalars(select(ForwardItem).where(ForwardItem.destination == destination, ForwardItem.state == "pending",
                                                   ForwardItem.due_at <= (now or utcnow()))
                         .order_by(ForwardItem.id).limit(limit)).all()
        return [_item(r) for r in rows]


def destinations_due(db: Database, now: dt.datetime | None = None) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(ForwardItem.destination).where(ForwardItem.state == "pending",
                                                                    ForwardItem.due_at <= (now or utcnow()))
                              .distinct()))


def mark_sent(db: Database, item_id: int) -> None:
    with db.session() as s:
        s.execute(update(ForwardItem).where(ForwardItem.id == item_id)
                  .values(state="sent", sent_at=utcnow(), error="", attempts=ForwardItem.attempts + 1))


def mark_attempt_failed(db: Database, ids: Sequence[int], error: str, *, backoff: float, max_backoff: float,
                        max_attempts: int, permanent: bool = False) -> None:
    """One more failed attempt for ``ids``: due again after the backoff (``backoff`` doubled per
    earlier attempt, at most ``max_backoff`` seconds), or ``failed`` once ``max_attempts`` are used
    or the failure is ``permanent`` (the destination refused the instance itself)."""
    now = utcnow()
    with db.session() as s:
        for row in s.scalars(select(ForwardItem).where(ForwardItem.id.in_(list(ids)))):
            row.attempts += 1
            row.error = error[:2000]
            if permanent or row.attempts >= max_attempts:
                row.state = "failed"
            else:
                row.due_at = now + dt.timedelta(seconds=min(max_backoff, backoff * 2 ** (row.attempts - 1)))


def _not_sent(ids: Sequence[int], destination: str) -> Update:
    """An UPDATE of the rows not yet sent among ``ids`` (all when empty) of ``destination`` (any when empty)."""
    q = update(ForwardItem).where(ForwardItem.state.in_(("failed", "pending", "held")))
    if ids:
        q = q.where(ForwardItem.id.in_(list(ids)))
    if destination:
        q = q.where(ForwardItem.destination == destination)
    return q


def retry(db: Database, ids: Sequence[int] = (), destination: str = "") -> int:
    """Failed (or held, or waiting) rows due now again with a fresh count of attempts; returns how many."""
    with db.session() as s:
        result = s.execute(_not_sent(ids, destination).values(state="pending", due_at=utcnow(), attempts=0))
        return int(getattr(result, "rowcount", 0) or 0)


def cancel(db: Database, ids: Sequence[int] = (), destination: str = "") -> int:
    """Rows not yet sent no longer sent; returns how many."""
    with db.session() as s:
        return int(getattr(s.execute(_not_sent(ids, destination).values(state="cancelled")), "rowcount", 0) or 0)


def listing(db: Database, states: Sequence[str] = ("pending", "failed", "held"), limit: int = 500) -> list[QueuedItem]:
    """Rows in ``states``, newest first."""
    with db.session() as s:
        rows = s.scalars(select(ForwardItem).where(ForwardItem.state.in_(list(states)))
                         .order_by(ForwardItem.id.desc()).limit(limit)).all()
        return [_item(r) for r in rows]


def counts(db: Database) -> dict[tuple[str, str], int]:
    """(destination, state) -> rows."""
    with db.session() as s:
        return {(d, st): int(n) for d, st, n in s.execute(
            select(ForwardItem.destination, ForwardItem.state, func.count()).group_by(ForwardItem.destination, ForwardItem.state))}


def pending_for(db: Database, sop_instance_uids: Sequence[str]) -> set[str]:
    """Which of ``sop_instance_uids`` a forward still needs (pending, failed or held): retention
    never deletes those."""
    with db.session() as s:
        return set(s.scalars(select(ForwardItem.sop_instance_uid).where(
            ForwardItem.sop_instance_uid.in_(list(sop_instance_uids)), ForwardItem.state.in_(("pending", "failed", "held")))))
