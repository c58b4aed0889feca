"""Who may call DICOMweb: a logged-in browser session (the web UI's cookie) or, for scripts, a
bearer token (RFC 6750) made with ``publisher user token NAME`` (:mod:`publisher.db.tokens`),
either with the role the route needs (:data:`publisher.web.auth.PERMISSIONS`). Anonymous calls
and unknown, revoked or disabled users' tokens get 401 with ``WWW-Authenticate: Bearer``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import HTTPException, Request

from publisher.archive.ingest import Archive
from publisher.db.tokens import user_of_token
from publisher.db.users import User
from publisher.web.auth import SESSION_COOKIE, Permission, may
from publisher.web.context import web

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dicomweb"'}


def caller(request: Request) -> User | None:
    """The user of the request's bearer token or session cookie, else None."""
    ctx = web(request)
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return user_of_token(ctx.db, credentials.strip())
    session = ctx.signer.session(ctx.db, request.cookies.get(SESSION_COOKIE))
    return session.user if session is not None else None


def allowed(permission: Permission) -> Callable[[Request], User]:
    """A dependency: the caller, when its role has ``permission``."""

    def dependency(request: Request) -> User:
        user = caller(request)
        if user is None:
            raise HTTPException(401, "login required", headers=_CHALLENGE)
        if not may(user, permission):
            raise HTTPException(403, f"your role may not {permission.value}")
        return user

    dependency.checks_login = True  # type: ignore[attr-defined]  # web.app._refuse_unguarded
    return dependency


def archive(request: Request) -> Archive:
    """The service's archive (``publisher serve`` hands it over); 503 when the app runs without."""
    found: Archive | None = getattr(request.app.state, "archive", None)
    if found is None:
        raise HTTPException(503, "no archive attached to this web app")
    return found


def file_of(request: Request, relative: str) -> Path:
    return archive(request).root / relative
