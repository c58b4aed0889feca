"""What every route needs: the web context (database, session signer), the logged-in session,
role checks and POSTed forms with their CSRF token checked, as FastAPI dependencies.

Refusals are exceptions that :func:`install_handlers` turns into answers: an API caller gets
JSON (401 / 403), a person gets a redirect to the login page or a page that says why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, quote

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from publisher.config import Settings
from publisher.db.session import Database
from publisher.jobs.robots import RobotBoard
from publisher.web.auth import SESSION_COOKIE, Permission, Session, Signer, check_csrf, may
from publisher.web.render import fmt, page

MAX_FORM_BYTES = 256 * 1024

#: The largest row id or count a URL may carry: what an INTEGER column holds on every backend,
#: so a larger one is a 422 (FastAPI's validation) rather than a database error (a 500).
INT32_MAX = 2**31 - 1
RowId = Annotated[int, PathParam(ge=1, le=INT32_MAX)]
Count = Annotated[int, Query(ge=0, le=INT32_MAX)]


@dataclass
class WebContext:
    db: Database
    signer: Signer
    data_dir: Path | None = None
    ae_title: str = ""
    dicom_port: int = 0
    #: The running settings, and what takes a change of them without a restart (the Settings page).
    settings: Settings | None = None
    apply_settings: Callable[[Settings], None] | None = None
    #: every robot of the service (status page, a job's robot choice); None: the app runs alone
    robots: Callable[[], RobotBoard] | None = None


def web(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


class LoginRequired(Exception):
    """No valid session (none, expired, user disabled, password changed)."""


class Forbidden(Exception):
    def __init__(self, session: Session, permission: Permission) -> None:
        super().__init__(permission.value)
        self.session, self.permission = session, permission


class BadForm(Exception):
    """The POST cannot be used at all (wrong encoding, too large, CSRF token missing or wrong)."""

    def __init__(self, status: int, message: str, session: Session | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.session = status, message, session


def current_session(request: Request) -> Session:
    ctx = web(request)
    session = ctx.signer.session(ctx.db, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired()
    return session


def require(permission: Permission) -> Callable[..., Session]:
    """A dependency: the session, when its user's role has ``permission``."""

    def dependency(session: Session = Depends(current_session)) -> Session:
        if not may(session.user, permission):
            raise Forbidden(session, permission)
        return session

    return dependency


class Form:
    """A URL-encoded form: ``get`` the one value of a field, ``getlist`` all of them."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return [v for v in self.fields.get(name, []) if v]


async def form_data(request: Request) -> Form:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadForm(415, f"expected a form (application/x-www-form-urlencoded), got {kind or 'no content type'}")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise BadForm(413, f"the form is larger than {MAX_FORM_BYTES // 1024} kB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadForm(400, "the form is not UTF-8") from None
    return Form(parse_qs(text, keep_blank_values=True, max_num_fields=5000))


@dataclass(frozen=True)
class Posted:
    session: Session
    form: Form


def posted(permission: Permission | None = None) -> Callable[..., Posted]:
    """A dependency for POST forms: the session (with ``permission``) and the form, once the
    form's CSRF token matched the session's."""

    def dependency(session: Session = Depends(current_session), form: Form = Depends(form_data)) -> Posted:
        if not check_csrf(session.csrf, form.get("csrf")):
            raise BadForm(403, "The form's security token (CSRF) is missing or does not belong to your session. "
                               "Go back, reload the page and submit it again.", session)
        if permission is not None and not may(session.user, permission):
            raise Forbidden(session, permission)
        return Posted(session, form)

    return dependency


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/dicomweb/")) or request.url.path in ("/api", "/openapi.json")


def html_error(title: str, message: str, status: int, session: Session | None = None) -> HTMLResponse:
    body = fmt('<p class="error" role="alert">{}</p><p><a href="/" data-back>Back</a></p>', message)
    return HTMLResponse(page(title, body, session), status_code=status)


def install_handlers(app: FastAPI) -> None:
    async def login_required(request: Request, _exc: Exception) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "login required"}, status_code=401)
        if request.method != "GET":
            return html_error("Login required", "You are not logged in (or your session has ended). "
                                                "Log in again, then repeat what you did.", 401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        if _is_api(request):
            return JSONResponse({"detail": f"your role may not {exc.permission.value}"}, status_code=403)
        return html_error("Not allowed", f"Your role ({exc.session.user.role.value}) may not {exc.permission.value}.",
                          403, exc.session)

    async def bad_form(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadForm)
        if _is_api(request):
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        return html_error("Form refused", exc.message, exc.status, exc.session)

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _is_api(request) or exc.status_code not in (404, 405):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return html_error("Not found" if exc.status_code == 404 else "Not allowed here", str(exc.detail), exc.status_code)

    app.add_exception_handler(StarletteHTTPException, not_found)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(BadForm, bad_form)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        h = response.headers
        h.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/static/"):
            h.setdefault("Cache-Control", "no-store")  # pages and JSON carry patient data
        return response
