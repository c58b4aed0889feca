"""Log in, log out, change one's own password; ``/`` sends each role to where it works."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher.db import logins
from publisher.db.users import UserError, authenticate, password_hash_of, set_password, verify_password
from publisher import audit
from publisher.web.auth import LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS, Permission, Session, forget_initial_password, may
from publisher.web.context import Form, Posted, current_session, form_data, posted, web
from publisher.web.i18n import t
from publisher.web.i18n_web import chooser
from publisher.web.render import csrf_field, fmt, messages, page

router = APIRouter()


def _safe_next(target: str) -> str:
    """Only a path on this site (no ``//host`` or scheme) may be where login leads."""
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target and not target.startswith("/login")
            and all(c.isprintable() and not c.isspace() for c in target)):
        return target
    return "/"


def _address(request: Request) -> str:
    """The caller's address: the TCP peer, or what a trusted proxy forwarded (``publisher serve``
    lets uvicorn read X-Forwarded-For only from ``http_trusted_proxies``)."""
    return request.client.host if request.client else ""


def _login_page(request: Request, *, error: str = "", next_: str = "/", username: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    body = fmt(
        '{msg}<form method="post" action="/login" class="login">'
        '<input type="hidden" name="csrf" value="{token}"><input type="hidden" name="next" value="{next}">'
        '<label>{user} <input name="username" value="{username}" autocomplete="username" required autofocus></label>'
        '<label>{password} <input name="password" type="password" autocomplete="current-password" required></label>'
        '<button type="submit">{login}</button></form>',
        msg=messages(error), token=token, next=next_, username=username, user=t("User name"), password=t("Password"),
        login=t("Log in"),
    )
    response = HTMLResponse(page(t("Log in"), body), status_code=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/login")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _login_page(request, next_=_safe_next(next))


@router.post("/login")
def login(request: Request, form: Form = Depends(form_data)) -> Response:
    ctx = web(request)
    username, password, next_ = form.get("username").strip(), form.get("password"), _safe_next(form.get("next", "/"))
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), form.get("csrf").encode()):
        return _login_page(request, error=t("The login form had expired. Please enter your name and password again."),
                           next_=next_, username=username, status=403)
    address = _address(request)
    lock = logins.lock_of(ctx.db, username, address)
    if lock is not None:  # refused before the password is even looked at
        with ctx.db.session() as s:
            audit.record(s, username or "?", "login-blocked", "web",
                         {"address": address, "lock": lock.kind, "until": lock.until.isoformat(timespec="seconds") + "Z",
                          "failures": lock.failures})
        which = t("for this user name") if lock.kind == "account" else t("from your address")
        return _login_page(request, error=t("Too many failed attempts {which}. Wait {minutes} minutes, or ask an "
                                            "administrator to unlock it.", which=which, minutes=logins.WINDOW.seconds // 60),
                           next_=next_, username=username, status=429)
    user = authenticate(ctx.db, username, password) if username and password else None
    with ctx.db.session() as s:
        audit.record(s, user.username if user else (username or "?"), "login" if user else "login-failed", "web",
                     {"address": address})
    if user is None:
        logins.record_failure(ctx.db, username, address)
        return _login_page(request, error=t("Wrong user name or password, or the account is disabled."),
                           next_=next_, username=username, status=401)
    logins.forget(ctx.db, username)
    response = RedirectResponse(next_ if next_ != "/" else _home(user.role.value), status_code=303)
    response.set_cookie(SESSION_COOKIE, ctx.signer.issue(user), max_age=SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, p: Posted = Depends(posted())) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _home(role: str) -> str:
    return {"radiologist": "/studies", "frontdesk": "/jobs?view=ready"}.get(role, "/jobs")


@router.get("/", response_class=HTMLResponse)
def home(session: Session = Depends(current_session)) -> Response:
    return RedirectResponse(_home(session.user.role.value), status_code=303)


def _account_page(request: Request, session: Session, *, error: str = "", notice: str = "", status: int = 200) -> HTMLResponse:
    ctx = web(request)
    rights = [p.value for p in Permission if may(session.user, p)]
    body = fmt(
        t('{msg}<p>You are <b>{name}</b>, role <b>{role}</b>: you may {rights}.</p>'
          '<p>DICOM: AE title <b>{ae}</b>, port {port}.</p>') +
        '<h2>{change}</h2><form method="post" action="/account/password" class="stack">{csrf}'
        '<label>{current} <input name="current" type="password" autocomplete="current-password" required></label>'
        '<label>{new} <input name="new" type="password" autocomplete="new-password" minlength="8" required></label>'
        '<label>{again} <input name="repeat" type="password" autocomplete="new-password" minlength="8" required></label>'
        '<button type="submit">{change}</button></form>{language}',
        msg=messages(error, notice), name=session.user.username, role=session.user.role.value,
        rights=", ".join(t(r) for r in rights), ae=ctx.ae_title, port=ctx.dicom_port, csrf=csrf_field(session),
        change=t("Change password"), current=t("Current password"), new=t("New password"), again=t("New password again"),
        language=chooser(request, csrf_field(session)),
    )
    return HTMLResponse(page(t("Account"), body, session, active="/account"), status_code=status)


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, changed: str = "", session: Session = Depends(current_session)) -> HTMLResponse:
    return _account_page(request, session, notice="Your password was changed." if changed else "")


@router.post("/account/password", response_class=HTMLResponse)
def change_password(request: Request, p: Posted = Depends(posted())) -> Response:
    ctx, user = web(request), p.session.user
    current, new, repeat = p.form.get("current"), p.form.get("new"), p.form.get("repeat")
    stored = password_hash_of(ctx.db, user.id)
    if not verify_password(current, stored):
        return _account_page(request, p.session, error="The current password is wrong.", status=400)
    if new != repeat:
        return _account_page(request, p.session, error="The two new passwords differ.", status=400)
    try:
        changed = set_password(ctx.db, user.username, new)
    except UserError as exc:
        return _account_page(request, p.session, error=str(exc), status=400)
    forget_initial_password(ctx.data_dir, changed)
    with ctx.db.session() as s:
        audit.record(s, user.username, "password-change", f"user {user.username}", {})
    # The old session's stamp no longer matches: sign a new one so the person stays logged in.
    response = RedirectResponse("/account?changed=1", status_code=303)
    response.set_cookie(SESSION_COOKIE, ctx.signer.issue(changed), max_age=SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return response

