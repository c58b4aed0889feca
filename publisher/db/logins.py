"""Web login lockouts, per account and per address, kept in the database.

A name that failed :data:`ACCOUNT_ATTEMPTS` times within :data:`WINDOW` is locked wherever the
attempts come from (rotating addresses, or a forged ``X-Forwarded-For``, does not help), and an
address that failed :data:`ADDRESS_ATTEMPTS` times is locked for every name (guessing names does
not help). A lock ends when its oldest counted failure is older than the window, when the person
logs in successfully before it is reached (the name's failures are forgotten), or when an
administrator unlocks it (web Users page, ``publisher user unlock``). The rows live in the
database so that the CLI, several web workers and a restart all see the same locks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from publisher.db.models import LoginFailure, utcnow
from publisher.db.session import Database

#: Failed logins of one name, from anywhere, that lock it.
ACCOUNT_ATTEMPTS = 5
#: Failed logins from one address, under any names, that lock it (a ward behind one NAT has
#: several people mistyping; still far below what guessing needs).
ADDRESS_ATTEMPTS = 20
#: How long a failure counts.
WINDOW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Lock:
    """Why logins are refused: ``kind`` "account" (the name) or "address", until when (UTC)."""

    kind: str
    key: str
    until: dt.datetime
    failures: int


def _name(username: str) -> str:
    return username.strip().lower()[:64]


def _lock(s: Session, kind: str, key: str, limit: int, now: dt.datetime) -> Lock | None:
    column = LoginFailure.username if kind == "account" else LoginFailure.address
    times = list(s.scalars(select(LoginFailure.at).where(column == key, LoginFailure.at > now - WINDOW)
                           .order_by(LoginFailure.at.desc()).limit(limit)))
    if len(times) < limit:
        return None
    count = int(s.scalar(select(func.count(LoginFailure.id)).where(column == key, LoginFailure.at > now - WINDOW)) or 0)
    return Lock(kind, key, times[-1] + WINDOW, count)


def lock_of(db: Database, username: str, address: str, now: dt.datetime | None = None) -> Lock | None:
    """The lock that refuses this login attempt, if any (the account's first)."""
    now = now or utcnow()
    with db.session() as s:
        return _lock(s, "account", _name(username), ACCOUNT_ATTEMPTS, now) or \
            _lock(s, "address", address[:64], ADDRESS_ATTEMPTS, now)


def record_failure(db: Database, username: str, address: str) -> None:
    """Count a failed login; failures older than the window are dropped meanwhile."""
    now = utcnow()
    with db.session() as s:
        s.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW))
        s.add(LoginFailure(at=now, username=_name(username), address=address[:64]))


def forget(db: Database, username: str) -> None:
    """The name logged in: its failures no longer count."""
    with db.session() as s:
        s.execute(delete(LoginFailure).where(LoginFailure.username == _name(username)))


def unlock(db: Database, *, username: str | None = None, address: str | None = None) -> int:
    """An administrator lifts the lock of a name or an address; returns the failures forgotten."""
    column, key = (LoginFailure.username, _name(username)) if username is not None else (LoginFailure.address, address)
    if key is None:
        raise ValueError("unlock needs a user name or an address")
    with db.session() as s:
        return int(s.execute(delete(LoginFailure).where(column == key)).rowcount or 0)  # type: ignore[attr-defined]


def locks(db: Database, now: dt.datetime | None = None) -> list[Lock]:
    """Every account and address locked now (for the administrator's page)."""
    now = now or utcnow()
    out: list[Lock] = []
    with db.session() as s:
        for kind, column, limit in (("account", LoginFailure.username, ACCOUNT_ATTEMPTS),
                                    ("address", LoginFailure.address, ADDRESS_ATTEMPTS)):
            keys = s.scalars(select(column).where(LoginFailure.at > now - WINDOW).group_by(column)
                             .having(func.count(LoginFailure.id) >= limit))
            out.extend(lock for key in list(keys) if (lock := _lock(s, kind, str(key), limit, now)) is not None)
    return out
