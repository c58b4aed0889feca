"""Login for the web UI: signed session cookies, roles and what each role may do, CSRF tokens.

A session is a cookie holding ``<payload>.<signature>``: the payload (user id, a stamp of the
password hash, issue time, the session's CSRF token) in base64url JSON, the signature an
HMAC-SHA256 with a secret kept in ``<data_dir>/web-secret`` (created on first start, mode 0600).
Nothing about a session is kept on the server; each request loads the user again, so disabling
a user or changing a password ends their sessions at once. The cookie is HttpOnly and
SameSite=Strict (and Secure when served over HTTPS); every POST form also carries the session's
CSRF token (:func:`check_csrf`).

What each role may do is one table, :data:`PERMISSIONS` (docs/architecture.md, section 7).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from publisher.db.session import Database
from publisher.db.users import Role, User, UserError, add_user, count_users, get_user

SESSION_COOKIE = "discpub_session"
LOGIN_COOKIE = "discpub_login"
SECRET_FILE = "web-secret"
INITIAL_PASSWORD_FILE = "initial-admin-password"
#: A session ends this long after login (a working day and a bit).
SESSION_SECONDS = 12 * 3600


class Permission(StrEnum):
    BROWSE = "browse the index (patients, studies, series)"
    BURN = "create burn jobs"
    VIEW_JOBS = "see disc jobs"
    MANAGE_JOBS = "cancel or resubmit disc jobs"
    HAND_OUT = "hand out discs"
    MANAGE_USERS = "manage users"
    READ_AUDIT = "read the audit log"
    MANAGE_FORWARDS = "see and retry the forward queue"
    CONFIGURE = "change the settings (rules, remotes, callers, institution)"
    STORE = "store instances in the archive (STOW-RS)"


#: Who may do what. The front desk sees jobs (names on the discs it hands out) but not the index.
PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.BROWSE: frozenset({Role.RADIOLOGIST, Role.ADMIN}),
    Permission.BURN: frozenset({Role.RADIOLOGIST, Role.ADMIN}),
    Permission.VIEW_JOBS: frozenset({Role.RADIOLOGIST, Role.FRONTDESK, Role.ADMIN}),
    Permission.MANAGE_JOBS: frozenset({Role.RADIOLOGIST, Role.ADMIN}),
    Permission.HAND_OUT: frozenset({Role.FRONTDESK, Role.ADMIN}),
    Permission.MANAGE_USERS: frozenset({Role.ADMIN}),
    Permission.READ_AUDIT: frozenset({Role.ADMIN}),
    Permission.MANAGE_FORWARDS: frozenset({Role.ADMIN}),
    Permission.CONFIGURE: frozenset({Role.ADMIN}),
    Permission.STORE: frozenset({Role.RADIOLOGIST, Role.ADMIN}),
}

ROLE_NAMES: dict[Role, str] = {Role.RADIOLOGIST: "radiologist", Role.FRONTDESK: "front desk", Role.ADMIN: "administrator"}


def may(user: User, permission: Permission) -> bool:
    return user.role in PERMISSIONS[permission]


@dataclass(frozen=True)
class Session:
    """A logged-in person and the CSRF token of their session."""

    user: User
    csrf: str
    issued_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_secret(data_dir: Path) -> bytes:
    """The signing secret in ``data_dir``, made on first use (readable by the owner only)."""
    path = data_dir / SECRET_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = bytes.fromhex(path.read_text("ascii").strip())
        if len(secret) < 32:
            raise ValueError(f"{path}: the web secret is too short; delete the file to make a new one") from None
        return secret
    secret = secrets.token_bytes(32)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secret.hex() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return secret


class Signer:
    """Makes and checks session tokens with one secret."""

    def __init__(self, secret: bytes, max_age: int = SESSION_SECONDS) -> None:
        self.secret, self.max_age = secret, max_age

    def _mac(self, payload: str, purpose: str) -> str:
        return _b64(hmac.new(self.secret, f"{purpose}:{payload}".encode("ascii"), hashlib.sha256).digest())

    def issue(self, user: User, now: float | None = None) -> str:
        body = {"uid": user.id, "ps": user.password_stamp, "iat": int(time.time() if now is None else now),
                "csrf": secrets.token_urlsafe(24)}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._mac(payload, 'session')}"

    def read(self, token: str, now: float | None = None) -> dict[str, object] | None:
        """The payload of a well-signed, unexpired token, else None."""
        payload, dot, mac = token.partition(".")
        if not dot or not hmac.compare_digest(mac, self._mac(payload, "session")):
            return None
        try:
            body = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("iat"), int) or not isinstance(body.get("uid"), int):
            return None
        t = time.time() if now is None else now
        if not body["iat"] - 60 <= t <= body["iat"] + self.max_age:
            return None
        return body

    def session(self, db: Database, token: str | None) -> Session | None:
        """The session of a cookie value: signed, unexpired, its user enabled and password unchanged."""
        body = self.read(token) if token else None
        if body is None:
            return None
        uid, stamp, csrf = body.get("uid"), body.get("ps"), body.get("csrf")
        user = get_user(db, uid) if isinstance(uid, int) else None
        if user is None or user.disabled or not isinstance(csrf, str) or stamp != user.password_stamp:
            return None
        return Session(user, csrf, int(body["iat"]))  # type: ignore[call-overload]


def check_csrf(expected: str, given: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(expected.encode(), (given or "").encode())


def ensure_admin(db: Database, data_dir: Path) -> str | None:
    """On a service with no web user yet, create ``admin`` with a random password written to
    ``<data_dir>/initial-admin-password`` (mode 0600); returns what ``serve`` should print, or
    None when users exist and nothing needs saying. Call after the schema is migrated."""
    path = data_dir / INITIAL_PASSWORD_FILE
    if count_users(db):
        if path.exists():
            return f"Web UI: the first password of user 'admin' is in {path.resolve()} (deleted once it is changed)."
        return None
    password = secrets.token_urlsafe(15)
    try:
        add_user(db, "admin", Role.ADMIN.value, password, created_by="first start")
    except UserError:  # another process made it a moment ago
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(password + "\n")
    os.replace(tmp, path)
    return (f"Web UI: no users yet, so user 'admin' was created; its password is in {path.resolve()}. "
            "Log in, change it under Account, and add people under Users (or: publisher user add NAME --role ROLE).")


def forget_initial_password(data_dir: Path | None, user: User) -> None:
    """The admin chose a password: the generated one is no longer needed on disk."""
    if data_dir is not None and user.username == "admin":
        (data_dir / INITIAL_PASSWORD_FILE).unlink(missing_ok=True)
