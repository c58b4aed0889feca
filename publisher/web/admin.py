"""The administrator's pages: users (add, disable, enable, set a password) and the audit log."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher.archive import lookup
from publisher.db import logins
from publisher.db.models import AuditEvent
from publisher.db.users import ROLES, Role, User, UserError, add_user, list_users, normalise_username, set_disabled, set_password, set_role
from publisher import audit
from publisher.web.auth import ROLE_NAMES, Permission, Session
from publisher.web.context import Count, Posted, posted, require, web
from publisher.web.i18n import t
from publisher.web.render import Safe, csrf_field, fmt, join, local_time, messages, options, page, person_name, post_button, pretty_json

router = APIRouter()

AUDIT_PAGE = 100


def render_users(request: Request, session: Session, *, error: str = "", notice: str = "", form: dict[str, str] | None = None,
                 status: int = 200) -> HTMLResponse:
    form = form or {}
    role_choices = {r: t(ROLE_NAMES[Role(r)]) for r in ROLES}
    users = list_users(web(request).db)
    locked = logins.locks(web(request).db)
    account_locks = {lk.key: lk for lk in locked if lk.kind == "account"}

    def state(u: User) -> Safe:
        lock = account_locks.get(u.username)
        active = t("disabled") if u.disabled else t("active")
        if lock is None:
            return fmt("{}", active)
        return fmt(t('{0}, <b class="locked">locked</b> until {1} ({2} failed logins) {3}'), active,
                   local_time(lock.until), lock.failures, post_button(session, f"/admin/users/{u.username}/unlock", t("Unlock")))

    def role(u: User) -> Safe:
        if u.username == session.user.username:
            return fmt("{}", t(ROLE_NAMES[u.role]))
        return fmt('<form method="post" action="/admin/users/{0}/role" class="inline role">{1}<select name="role" '
                   'aria-label="{2}">{3}</select><button type="submit">{4}</button></form>', u.username, csrf_field(session),
                   t("Role"), options(role_choices, u.role.value), t("Change role"))

    rows = join(
        fmt('<tr data-user="{name}"><td>{name}</td><td>{role}</td><td>{state}</td><td>{by}</td><td>{action}</td></tr>',
            name=u.username, role=role(u), state=state(u), by=u.created_by,
            action=post_button(session, f"/admin/users/{u.username}/{'enable' if u.disabled else 'disable'}",
                               t("Enable") if u.disabled else t("Disable")) if u.username != session.user.username else "")
        for u in users
    )
    others = [lk for lk in locked if lk.kind == "address" or lk.key not in {u.username for u in users}]
    lock_rows = join(
        fmt('<tr data-lock="{key}"><td>{kind}</td><td>{key}</td><td>{until}</td><td>{n}</td><td>{button}</td></tr>',
            kind=t("address") if lk.kind == "address" else t("unknown user name"), key=lk.key, until=local_time(lk.until),
            n=lk.failures, button=post_button(session, "/admin/locks/unlock?" + urlencode({lk.kind: lk.key}), t("Unlock")))
        for lk in others
    )
    lock_table = fmt(t('<h2>Locked addresses and names</h2><table class="locks"><thead><tr><th>What</th><th></th><th>Until</th>'
                       '<th>Failed logins</th><th></th></tr></thead><tbody>{}</tbody></table>'), lock_rows) if others else Safe("")
    body = fmt(t(
        '{msg}<table class="users"><thead><tr><th>User</th><th>Role</th><th>State</th><th>Added by</th><th></th></tr></thead>'
        '<tbody>{rows}</tbody></table>{locks}'
        '<h2>Add a user</h2><form method="post" action="/admin/users" class="stack">{csrf}'
        '<label>User name <input name="username" value="{username}" pattern="[A-Za-z0-9][A-Za-z0-9._@\\-]{{0,63}}" required></label>'
        '<label>Role <select name="role">{roles}</select></label>'
        '<label>Password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label>'
        '<label>Password again <input name="repeat" type="password" autocomplete="new-password" minlength="8" required></label>'
        '<button type="submit">Add user</button></form>'
        '<h2>Set a new password</h2><form method="post" action="/admin/users/password" class="stack">{csrf}'
        '<label>User <select name="username">{names}</select></label>'
        '<label>New password <input name="password" type="password" autocomplete="new-password" minlength="8" required></label>'
        '<button type="submit">Set password</button></form>'),
        msg=messages(error, notice), rows=rows, locks=lock_table, csrf=csrf_field(session), username=form.get("username", ""),
        roles=options(role_choices, form.get("role", Role.RADIOLOGIST.value)),
        names=options({u.username: u.username for u in users}, ""),
    )
    return HTMLResponse(page(t("Users"), body, session, active="/admin/users"), status_code=status)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, session: Session = Depends(require(Permission.MANAGE_USERS))) -> HTMLResponse:
    return render_users(request, session)


def _audit(request: Request, actor: str, action: str, username: str, detail: dict[str, Any]) -> None:
    with web(request).db.session() as s:
        audit.record(s, actor, action, f"user {username}", detail)


@router.post("/admin/users", response_class=HTMLResponse)
def add(request: Request, p: Posted = Depends(posted(Permission.MANAGE_USERS))) -> Response:
    f = p.form
    form = {"username": f.get("username").strip(), "role": f.get("role")}
    if f.get("password") != f.get("repeat"):
        return render_users(request, p.session, error="The two passwords differ.", form=form, status=400)
    try:
        user = add_user(web(request).db, form["username"], form["role"], f.get("password"), created_by=p.session.user.username)
    except UserError as exc:
        return render_users(request, p.session, error=str(exc)[:300], form=form, status=400)
    _audit(request, p.session.user.username, "user-add", user.username, {"role": user.role.value})
    return render_users(request, p.session, notice=f"User {user.username} ({ROLE_NAMES[user.role]}) added.")


@router.post("/admin/users/password", response_class=HTMLResponse)
def password(request: Request, p: Posted = Depends(posted(Permission.MANAGE_USERS))) -> Response:
    name = normalise_username(p.form.get("username"))
    try:
        set_password(web(request).db, name, p.form.get("password"))
    except UserError as exc:
        return render_users(request, p.session, error=str(exc)[:300], status=400)
    _audit(request, p.session.user.username, "user-password", name, {})
    return render_users(request, p.session, notice=f"New password set for {name}; their open sessions have ended.")


@router.post("/admin/locks/unlock", response_class=HTMLResponse)
def unlock_other(request: Request, account: str = "", address: str = "",
                 p: Posted = Depends(posted(Permission.MANAGE_USERS))) -> Response:
    """Lift the lock of an address, or of a name no user has (publisher.db.logins)."""
    if bool(account) == bool(address):
        return render_users(request, p.session, error="Name one address or one user name to unlock.", status=400)
    forgotten = logins.unlock(web(request).db, username=account or None, address=address or None)
    subject = f"address {address}" if address else f"user {normalise_username(account)}"
    with web(request).db.session() as s:
        audit.record(s, p.session.user.username, "login-unlock", subject, {"failures_forgotten": forgotten})
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/{action}", response_class=HTMLResponse)
def enable_disable(request: Request, username: str, action: str, p: Posted = Depends(posted(Permission.MANAGE_USERS))) -> Response:
    if action not in ("enable", "disable", "unlock", "role"):
        return render_users(request, p.session, error=f"Unknown action {action[:20]!r}.", status=404)
    name = normalise_username(username)
    if action == "unlock":
        forgotten = logins.unlock(web(request).db, username=name)
        _audit(request, p.session.user.username, "login-unlock", name, {"failures_forgotten": forgotten})
        return RedirectResponse("/admin/users", status_code=303)
    if name == p.session.user.username and action in ("disable", "role"):
        return render_users(request, p.session, error=t("You cannot disable yourself or change your own role; ask another "
                                                          "administrator."), status=400)
    if action == "role":
        try:
            user, before = set_role(web(request).db, name, p.form.get("role"))
        except UserError as exc:
            return render_users(request, p.session, error=str(exc)[:300], status=400)
        _audit(request, p.session.user.username, "user-role", user.username, {"from": before.value, "to": user.role.value})
        return render_users(request, p.session, notice=t("{0} is now {1}.", user.username, t(ROLE_NAMES[user.role])))
    try:
        user = set_disabled(web(request).db, name, action == "disable")
    except UserError as exc:
        return render_users(request, p.session, error=str(exc)[:300], status=404)
    _audit(request, p.session.user.username, f"user-{action}", user.username, {})
    return RedirectResponse("/admin/users", status_code=303)


def _summary(e: AuditEvent, d: dict[str, Any]) -> Safe:
    """One readable line for the actions that matter most; the whole detail is shown beside it."""
    if e.action == audit.HANDOUT:
        r = d.get("recipient", {})
        discs = ", ".join(f"disc {x.get('volume')}/{x.get('of', '?')} copy {x.get('copy')}" for x in d.get("discs", []))
        return fmt('handed to <b class="recipient">{}</b> ({}), ID checked: {}; {}; patients: {}', r.get("name", ""),
                   audit.RECIPIENT_RELATIONS.get(r.get("relation", ""), r.get("relation", "")),
                   "yes" if r.get("id_checked") else "no", discs,
                   "; ".join(person_name(p.get("name", "")) for p in d.get("patients", [])))
    if e.action == "media-export":
        return fmt("disc {} ({}), {} instances; patients: {}", d.get("disc", ""), d.get("media", ""), d.get("instances", ""),
                   "; ".join(f"{person_name(p.get('name', ''))} ({p.get('id', '')})" for p in d.get("patients", [])))
    if e.action == "burn":
        discs = d.get("discs", [])
        return fmt("{} disc(s), {} ok, robot {}{}", len(discs), sum(1 for x in discs if x.get("ok")), d.get("robot", ""),
                   f"; error: {d['error']}" if d.get("error") else "")
    return Safe("")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, action: str = "", actor: str = "", subject: str = "", before: Count = 0,
               session: Session = Depends(require(Permission.READ_AUDIT))) -> HTMLResponse:
    with web(request).db.session() as s:
        events = lookup.audit_events(s, AUDIT_PAGE, action=action, actor=actor, subject=subject, before=before)
        actions = lookup.audit_actions(s)

    def detail(e: AuditEvent) -> dict[str, Any]:
        try:
            value = json.loads(e.detail or "{}")
        except ValueError:
            return {"text": e.detail}
        return value if isinstance(value, dict) else {"value": value}

    rows = join(
        fmt('<tr data-event="{id}"><td>{at}</td><td>{actor}</td><td>{action}</td><td>{subject}</td>'
            '<td>{summary}<details><summary>{details}</summary><pre>{detail}</pre></details></td></tr>',
            id=e.id, at=local_time(e.at, seconds=True), actor=e.actor, action=e.action, subject=e.subject,
            summary=_summary(e, detail(e)), detail=pretty_json(detail(e)), details=t("details"))
        for e in events
    )
    older = fmt(t('<p><a href="/admin/audit?action={}&amp;actor={}&amp;subject={}&amp;before={}">Older events</a></p>'),
                action, actor, subject, events[-1].id) if len(events) == AUDIT_PAGE else Safe("")
    body = fmt(t(
        '<form method="get" action="/admin/audit" class="search"><label>Action <select name="action">{actions}</select></label>'
        '<label>Who <input name="actor" value="{actor}"></label><label>Subject <input name="subject" value="{subject}" '
        'placeholder="job 12"></label><button type="submit">Filter</button></form>'
        '<table class="audit"><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Subject</th><th>What</th></tr></thead>'
        '<tbody>{rows}</tbody></table>{older}'),
        actions=options({"": t("all"), **{a: a for a in actions}}, action), actor=actor, subject=subject, rows=rows, older=older,
    )
    return HTMLResponse(page(t("Audit log"), body, session, active="/admin/audit"))
