"""Bearer tokens for scripts (DICOMweb, PS3.18 behind RFC 6750 ``Authorization: Bearer``).

A token acts as one web user: that user's role decides what it may do, and a disabled user's
tokens stop working at once. The token is 32 random bytes shown once when it is made; the
index keeps only its SHA-256 (a random secret of that length needs no slow hash to resist
guessing), so a copy of the database gives no working token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from publisher.db.models import ApiToken, WebUser, utcnow
from publisher.db.session import Database
from publisher.db.users import User, UserError, _user, normalise_username

PREFIX = "dpt_"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    username: str
    label: str
    revoked: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def make_token(db: Database, username: str, label: str = "") -> str:
    """A new token for ``username`` (the only time it is seen in clear); :class:`UserError` when
    there is no such user."""
    name = normalise_username(username)
    token = PREFIX + secrets.token_urlsafe(32)
    with db.session() as s:
        uid = s.scalar(select(WebUser.id).where(WebUser.username == name))
        if uid is None:
            raise UserError(f"no user {name!r}")
        s.add(ApiToken(user_fk=uid, label=label[:64], token_sha256=_digest(token), created_at=utcnow(), revoked=False))
    return token


def user_of_token(db: Database, token: str) -> User | None:
    """The enabled user a live token acts for, else None."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    with db.session() as s:
        row = s.execute(select(WebUser).join(ApiToken, ApiToken.user_fk == WebUser.id)
                        .where(ApiToken.token_sha256 == _digest(token), ApiToken.revoked.is_(False))).scalar_one_or_none()
        if row is None or row.disabled:
            return None
        return _user(row)


def list_tokens(db: Database) -> list[TokenInfo]:
    with db.session() as s:
        rows = s.execute(select(ApiToken.id, WebUser.username, ApiToken.label, ApiToken.revoked)
                         .join(WebUser, ApiToken.user_fk == WebUser.id).order_by(ApiToken.id))
        return [TokenInfo(int(i), u, lb, bool(r)) for i, u, lb, r in rows]


def revoke_token(db: Database, token_id: int) -> bool:
    """Revoke token ``token_id``; False when there is none."""
    with db.session() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            return False
        row.revoked = True
    return True
