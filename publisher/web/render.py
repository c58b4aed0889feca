"""Server-rendered HTML with escaping as the default: every value that goes into a page passes
:func:`esc` unless it is already :class:`Safe` (made by these helpers from escaped parts).

No template engine and no build step: pages are short, and a value cannot reach the page
unescaped by forgetting a filter, since :func:`fmt` escapes every argument.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Mapping
from typing import Any

from publisher import __version__
from publisher.web.auth import ROLE_NAMES, Permission, Session, may
from publisher.web.i18n import current, t


_zone: dt.tzinfo | None = None


def set_time_zone(name: str) -> None:
    """Show times in zone ``name`` (IANA, ``Europe/Berlin``); "" is the machine's zone."""
    from zoneinfo import ZoneInfo

    global _zone
    _zone = ZoneInfo(name) if name else None


def local_time(when: dt.datetime | None, *, seconds: bool = False) -> str:
    """A stored time as people read it: in the configured zone (:func:`set_time_zone`, else the
    machine's), ``2026-01-05 14:30 CET``. Naive values are UTC, as the database keeps them.
    Every time a page shows goes through here."""
    if when is None:
        return ""
    aware = when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)
    shown = aware.astimezone(_zone) if _zone is not None else aware.astimezone()
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


class Safe(str):
    """Text that is already HTML (escaped or built from escaped parts)."""


def esc(value: object) -> Safe:
    if isinstance(value, Safe):
        return value
    return Safe(html.escape("" if value is None else str(value), quote=True))


def fmt(template: str, *args: object, **kwargs: object) -> Safe:
    """``template.format`` with every argument escaped (``template`` itself is trusted)."""
    return Safe(template.format(*(esc(a) for a in args), **{k: esc(v) for k, v in kwargs.items()}))


def join(parts: Iterable[object], sep: str = "") -> Safe:
    return Safe(sep.join(esc(p) for p in parts))


def person_name(pn: str) -> str:
    """A DICOM Person Name (PS3.5 6.2: ``family^given^middle^prefix^suffix``, groups split by
    ``=``) as people write it: ``Müller, Jürgen``; ideographic groups follow in parentheses."""
    groups = []
    for group in pn.split("="):
        family, given, middle, prefix, suffix = (group.split("^") + [""] * 5)[:5]
        first = " ".join(p for p in (prefix, given, middle) if p)
        text = ", ".join(p for p in (family, first) if p)
        if suffix:
            text += f" {suffix}"
        if text:
            groups.append(text)
    if not groups:
        return ""
    return groups[0] + (f" ({' / '.join(groups[1:])})" if len(groups) > 1 else "")


def dicom_date(da: str) -> str:
    """``20260105`` as ``2026-01-05`` (other values as they are)."""
    return f"{da[:4]}-{da[4:6]}-{da[6:8]}" if len(da) == 8 and da.isdigit() else da


def size(n: int) -> str:
    for unit, f in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= f:
            return f"{n / f:.1f} {unit}"
    return f"{n} B"


def csrf_field(session: Session) -> Safe:
    return fmt('<input type="hidden" name="csrf" value="{}">', session.csrf)


def post_button(session: Session, action: str, label: str, *, css: str = "", confirm: str = "") -> Safe:
    """A one-button form that POSTs to ``action`` with the session's CSRF token."""
    return fmt('<form method="post" action="{}" class="inline">{}<button type="submit" class="{}" data-confirm="{}">{}</button></form>',
               action, csrf_field(session), css, confirm, label)


def options(choices: Mapping[str, str], selected: str) -> Safe:
    return join(fmt('<option value="{}"{}>{}</option>', k, Safe(" selected") if k == selected else "", v)
                for k, v in choices.items())


def messages(error: str = "", notice: str = "") -> Safe:
    out = Safe("")
    if error:
        out = fmt('<p class="error" role="alert">{}</p>', error)
    if notice:
        out = fmt('{}<p class="notice" role="status">{}</p>', out, notice)
    return out


def _nav(session: Session | None, active: str) -> Safe:
    if session is None:
        return Safe("")
    user = session.user
    links = []
    if may(user, Permission.BROWSE):
        links.append(("/studies", t("Studies")))
    if may(user, Permission.BURN):
        links.append(("/pacs", t("Remote PACS")))
    links.append(("/jobs", t("Disc jobs")))
    if may(user, Permission.HAND_OUT):
        links.append(("/jobs?view=ready", t("Hand out")))
        links.append(("/desk", t("Front desk")))
    links.append(("/robots", t("Robots")))
    if may(user, Permission.MANAGE_USERS):
        links.append(("/admin/users", t("Users")))
    if may(user, Permission.CONFIGURE):
        links.append(("/admin/settings", t("Settings")))
    if may(user, Permission.READ_AUDIT):
        links.append(("/admin/audit", t("Audit log")))
    if may(user, Permission.MANAGE_FORWARDS):
        links.append(("/forwards", t("Forwards")))
    links.append(("/account", t("Account")))
    items = join(fmt('<a href="{}"{}>{}</a>', href, Safe(' aria-current="page"') if href == active else "", text)
                 for href, text in links)
    return fmt('<nav>{}<span class="who">{} ({})</span>{}</nav>', items, user.username, t(ROLE_NAMES[user.role]),
               post_button(session, "/logout", t("Log out"), css="link"))


def page(title: str, body: Safe, session: Session | None = None, *, active: str = "", scripts: Iterable[str] = ()) -> str:
    """A whole page: head with the static CSS (and scripts), navigation for the session, body.
    The title is looked up in the request's language (:func:`publisher.web.i18n.t`), so a page
    that passes English gets its translated title where the catalogue has it."""
    title = t(title)
    script_tags = join(fmt('<script src="{}" defer></script>', s) for s in ("/static/app.js", *scripts))
    return fmt(
        '<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>{title} - {brand}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/app.css">'
        '{scripts}</head>'
        '<body><header><a class="brand" href="/">{brand}</a>{nav}</header><main><h1>{title}</h1>{body}</main>'
        '<footer>{brand} {version}</footer></body></html>',
        lang=current(), brand=t("Disc publisher"), title=title, scripts=script_tags, nav=_nav(session, active), body=body, version=__version__,
    )


def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)
