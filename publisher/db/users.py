"""People who log in to the web UI: roles, salted password hashes, adding and disabling.

Passwords are kept as scrypt hashes (RFC 7914, ``hashlib.scrypt`` of the standard library)
with a random 16-byte salt per user, in the self-describing form
``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (base64), so the cost can be raised later without making
old hashes unreadable. User names are case-folded ASCII, so ``Admin`` and ``admin`` are the same
person on every database (MariaDB's default collation would say so anyway).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from publisher.db.models import WebUser, utcnow
from publisher.db.session import Database


class Role(StrEnum):
    """What a person does at the publisher (docs/architecture.md, section 7)."""

    RADIOLOGIST = "radiologist"
    FRONTDESK = "frontdesk"
    ADMIN = "admin"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)

#: scrypt cost: n=2**14, r=8 uses 16 MiB and about 50 ms per check on one core.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


class UserError(ValueError):
    """A user cannot be added or changed; the message says why, in words for the person."""


@dataclass(frozen=True)
class User:
    """A web user as the rest of the program sees it (never with the hash)."""

    id: int
    username: str
    role: Role
    disabled: bool
    created_by: str
    #: changes when the password does: sessions signed before a change stop working
    password_stamp: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` hashes to ``stored`` (compared in constant time)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


#: Checked against when the user does not exist, so both answers take the same time.
_DUMMY_HASH = hash_password("not a password", salt=b"\0" * 16)


def normalise_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    name = normalise_username(username)
    if not USERNAME.fullmatch(name):
        raise UserError(f"user name {username!r}: 1-64 characters of a-z, 0-9, '.', '_', '@', '-', "
                        "starting with a letter or digit")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")


def check_role(role: str) -> Role:
    try:
        return Role(role.strip().lower())
    except ValueError:
        raise UserError(f"role {role!r}: one of {', '.join(ROLES)}") from None


def _user(row: WebUser) -> User:
    stamp = hashlib.sha256(row.password_hash.encode("ascii")).hexdigest()[:16]
    return User(int(row.id), row.username, Role(row.role), bool(row.disabled), row.created_by, stamp)


def add_user(db: Database, username: str, role: str, password: str, *, created_by: str = "") -> User:
    """A new, enabled user; :class:`UserError` for a bad name, role or password, or a taken name."""
    name, the_role = check_username(username), check_role(role)
    check_password(password)
    try:
        with db.session() as s:
            if s.scalar(select(WebUser.id).where(WebUser.username == name)) is not None:
                raise UserError(f"user {name!r} exists already")
            row = WebUser(username=name, role=the_role.value, password_hash=hash_password(password),
                          disabled=False, created_by=created_by[:64], created_at=utcnow(), password_changed_at=utcnow())
            s.add(row)
            s.flush()
            return _user(row)
    except IntegrityError:  # added by someone else at the same moment
        raise UserError(f"user {name!r} exists already") from None


def list_users(db: Database) -> list[User]:
    with db.session() as s:
        return [_user(u) for u in s.scalars(select(WebUser).order_by(WebUser.username))]


def get_user(db: Database, user_id: int) -> User | None:
    with db.session() as s:
        row = s.get(WebUser, user_id)
        return _user(row) if row is not None else None


def password_hash_of(db: Database, user_id: int) -> str:
    """The stored hash of user ``user_id``'s password, "" when there is no such user (which no
    password verifies)."""
    with db.session() as s:
        row = s.get(WebUser, user_id)
        return row.password_hash if row is not None else ""


def count_users(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count(WebUser.id))) or 0)


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user when the name and password match and the user is enabled, else None."""
    name = normalise_username(username)
    with db.session() as s:
        row = s.scalar(select(WebUser).where(WebUser.username == name)) if len(password) <= MAX_PASSWORD_LENGTH else None
        if row is None:
            verify_password(password[:MAX_PASSWORD_LENGTH], _DUMMY_HASH)
            return None
        user, stored = _user(row), row.password_hash
    if not verify_password(password, stored) or user.disabled:
        return None
    return user


def set_disabled(db: Database, username: str, disabled: bool) -> User:
    with db.session() as s:
        row = s.scalar(select(WebUser).where(WebUser.username == normalise_username(username)))
        if row is None:
            raise UserError(f"no user {username!r}")
        row.disabled = disabled
        return _user(row)


def set_password(db: Database, username: str, password: str) -> User:
    check_password(password)
    with db.session() as s:
        row = s.scalar(select(WebUser).where(WebUser.username == normalise_username(username)))
        if row is None:
            raise UserError(f"no user {username!r}")
        row.password_hash = hash_password(password)
        row.password_changed_at = utcnow()
        return _user(row)


def set_role(db: Database, username: str, role: str) -> tuple[User, Role]:
    """Give ``username`` another role; returns the user and the role they had. The last enabled
    administrator keeps the role (else nobody could manage users any more)."""
    the_role = check_role(role)
    with db.session() as s:
        row = s.scalar(select(WebUser).where(WebUser.username == normalise_username(username)))
        if row is None:
            raise UserError(f"no user {username!r}")
        before = Role(row.role)
        if before is Role.ADMIN and the_role is not Role.ADMIN:
            admins = s.scalar(select(func.count(WebUser.id)).where(WebUser.role == Role.ADMIN.value,
                                                                   WebUser.disabled.is_(False)))
            if (admins or 0) <= 1 and not row.disabled:
                raise UserError(f"{row.username} is the last administrator; make another one first")
        row.role = the_role.value
        return _user(row), before
