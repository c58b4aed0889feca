"""Burn rules in the web UI: edit, dry-run (what the rule would burn now), enable after seeing
the dry run, disable, delete. Stored through :mod:`publisher.web.settings_store`; the worker
takes a change at its next tick. A study already on a finished disc is never burned again by
enabling a rule (:func:`publisher.jobs.rules.dry_run` lists it as left out)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher.config import GROUP_BY, RULE_MEDIA, DiscRule
from publisher.jobs import rules
from publisher.web import settings_store as store
from publisher.web.auth import Permission, Session
from publisher.web.context import Form, Posted, posted, require, web
from publisher.web.i18n import t
from publisher.web.render import Safe, csrf_field, fmt, join, local_time, messages, options, page, size

router = APIRouter()

#: the rule's fields the form edits, in the order shown (``enabled`` has buttons of its own)
NUMBERS = {"quiet_minutes": float, "lookback_hours": float, "copies": int}


def _find(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((r for r in data["rules"] if r["name"] == name), None)


def _from_form(form: Form, old: dict[str, Any] | None) -> dict[str, Any]:
    """The rule's table from the form (``enabled`` kept from the stored rule; a new one is off)."""
    rule: dict[str, Any] = {"name": form.get("name").strip(), "enabled": bool(old and old.get("enabled")),
                            "group_by": form.get("group_by", "study"), "media": form.get("media", "auto"),
                            "comment": form.get("comment").strip(), "compress": form.get("compress") == "yes",
                            "modalities": form.get("modalities").replace(",", " ").split(),
                            "calling_aes": [a.strip() for a in form.get("calling_aes").split(",") if a.strip()]}
    for key, kind in NUMBERS.items():
        text = form.get(key).strip().replace(",", ".")
        try:
            rule[key] = kind(text)
        except ValueError:
            raise ValueError(t("{0}: {1!r} is not a number", key, text)) from None
    return rule


def _rule(table: dict[str, Any]) -> DiscRule:
    return DiscRule(name=table["name"], enabled=True, group_by=table["group_by"], quiet_minutes=float(table["quiet_minutes"]),
                    calling_aes=tuple(table["calling_aes"]), modalities=tuple(m.upper() for m in table["modalities"]),
                    media=table["media"], copies=int(table["copies"]), comment=table["comment"],
                    lookback_hours=float(table["lookback_hours"]), compress=bool(table["compress"]))


def dry_run_listing(request: Request, table: dict[str, Any]) -> Safe:
    """What the rule would burn now, one row per disc job, and what it leaves out."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with web(request).db.session() as s:
        result = rules.dry_run(s, _rule(table), now)
    rows = join(fmt('<tr data-group><td class="pid">{pid}</td><td>{studies}</td><td>{n}</td><td>{size}</td><td>{at}</td></tr>',
                    pid=g.patient_id or t("(no ID)"), studies=join(g.studies, ", "), n=g.instances, size=size(g.size),
                    at=local_time(g.latest))
                for g in result.due)
    left = join(fmt('<li data-on-disc="{uid}">{uid}: <a href="/jobs/{job}">{text}</a></li>', uid=uid, job=job,
                    text=t("on disc job {0}", job))
                for uid, job in sorted(result.on_disc.items()))
    return fmt(
        '<section class="dry-run" aria-live="polite"><h2>{title}</h2><p class="summary">{summary}</p>'
        '<table class="dry-run"><thead><tr><th>{pid}</th><th>{studies}</th><th>{inst}</th><th>{size}</th><th>{last}</th></tr>'
        '</thead><tbody>{rows}</tbody></table>{left}</section>',
        title=t("Dry run: what this rule would burn now"),
        summary=t("{0} disc job(s) now; {1} study(ies) still receiving; {2} study(ies) left out: already on disc.",
                  len(result.due), result.still_receiving, len(result.on_disc)),
        pid=t("Patient ID"), studies=t("Studies"), inst=t("Instances"), size=t("Size"), last=t("Last arrival"), rows=rows,
        left=fmt('<h3>{}</h3><ul class="on-disc">{}</ul>', t("Left out: already on disc"), left) if result.on_disc else Safe(""),
    )


def _form(session: Session, rule: dict[str, Any], original: str) -> Safe:
    return fmt(
        '<form method="post" action="/admin/rules/save" class="stack rule">{csrf}<input type="hidden" name="original" value="{orig}">'
        '<label>{l_name} <input name="name" value="{name}" required maxlength="59"></label>'
        '<label>{l_mod} <input name="modalities" value="{mods}" placeholder="CT MR"></label>'
        '<label>{l_aes} <input name="calling_aes" value="{aes}" placeholder="CT1, MR2"></label>'
        '<label>{l_group} <select name="group_by">{groups}</select></label>'
        '<label>{l_quiet} <input name="quiet_minutes" value="{quiet}" inputmode="decimal" required></label>'
        '<label>{l_back} <input name="lookback_hours" value="{back}" inputmode="decimal" required></label>'
        '<label>{l_media} <select name="media">{media}</select></label>'
        '<label>{l_copies} <input name="copies" type="number" min="1" value="{copies}" required></label>'
        '<label>{l_comment} <input name="comment" value="{comment}" maxlength="256"></label>'
        '<label class="check"><input type="checkbox" name="compress" value="yes"{compress}> {l_compress}</label>'
        '<p><button type="submit" name="action" value="dry-run">{dry}</button> '
        '<button type="submit" name="action" value="save">{save}</button></p></form>',
        csrf=csrf_field(session), orig=original, name=rule["name"], mods=" ".join(rule["modalities"]),
        aes=", ".join(rule["calling_aes"]), groups=options({g: t(g) for g in GROUP_BY}, rule["group_by"]),
        quiet=f"{rule['quiet_minutes']:g}", back=f"{rule['lookback_hours']:g}", media=options({m: m for m in RULE_MEDIA}, rule["media"]),
        copies=rule["copies"], comment=rule["comment"], compress=Safe(" checked") if rule["compress"] else "",
        l_name=t("Name"), l_mod=t("Modalities (empty: any)"), l_aes=t("Sending AE titles (empty: any)"),
        l_group=t("One disc per"), l_quiet=t("Burn after minutes without arrivals"), l_back=t("Look back hours"),
        l_media=t("Medium"), l_copies=t("Copies"), l_comment=t("Comment on the label"), l_compress=t("Compress losslessly"),
        dry=t("Dry run"), save=t("Save"),
    )


def _edit_page(request: Request, session: Session, rule: dict[str, Any], original: str, *, error: str = "",
               listing: Safe = Safe(""), status: int = 200) -> HTMLResponse:
    body = fmt('{msg}{form}{listing}<p><a href="/admin/settings#rules">{back}</a></p>', msg=messages(error),
               form=_form(session, rule, original), listing=listing, back=t("Back to the settings"))
    return HTMLResponse(page(t("Rule {0}", rule["name"]) if original else t("New rule"), body, session,
                             active="/admin/settings"), status_code=status)


NEW_RULE: dict[str, Any] = {"name": "", "enabled": False, "group_by": "study", "quiet_minutes": 5.0, "calling_aes": [],
                            "modalities": [], "media": "auto", "copies": 1, "comment": "", "lookback_hours": 24.0,
                            "compress": False}


@router.get("/admin/rules/edit", response_class=HTMLResponse)
def edit(request: Request, name: str = "", session: Session = Depends(require(Permission.CONFIGURE))) -> HTMLResponse:
    rule = _find(store.tables(request), name) if name else None
    return _edit_page(request, session, rule or dict(NEW_RULE), rule["name"] if rule else "")


@router.post("/admin/rules/save", response_class=HTMLResponse)
def save(request: Request, p: Posted = Depends(posted(Permission.CONFIGURE))) -> Response:
    data, original = store.tables(request), p.form.get("original")
    old = _find(data, original) if original else None
    try:
        rule = _from_form(p.form, old)
    except ValueError as exc:
        return _edit_page(request, p.session, dict(NEW_RULE, name=p.form.get("name")), original, error=str(exc), status=400)
    if p.form.get("action") == "dry-run":
        try:
            listing = dry_run_listing(request, rule)
        except (ValueError, TypeError) as exc:
            return _edit_page(request, p.session, rule, original, error=str(exc), status=400)
        return _edit_page(request, p.session, rule, original, listing=listing)
    if rule["name"] != original and _find(data, rule["name"]) is not None:
        return _edit_page(request, p.session, rule, original, error=t("A rule named {0} exists already.", rule["name"]), status=400)
    data["rules"] = [r for r in data["rules"] if r["name"] != original] + [rule] if old is None else \
        [rule if r["name"] == original else r for r in data["rules"]]
    error = store.save(request, p.session.user.username, data, f"rule {rule['name']}")
    if error:
        return _edit_page(request, p.session, rule, original, error=error, status=400)
    return RedirectResponse("/admin/settings?saved=1#rules", status_code=303)


@router.post("/admin/rules/{name}/{action}", response_class=HTMLResponse)
def rule_action(request: Request, name: str, action: str, p: Posted = Depends(posted(Permission.CONFIGURE))) -> Response:
    """``enable`` shows the dry run first and enables on the confirming second POST; ``disable``
    and ``delete`` act at once."""
    data = store.tables(request)
    rule = _find(data, name)
    if rule is None or action not in ("enable", "disable", "delete"):
        return HTMLResponse(page(t("Not found"), fmt('<p class="error" role="alert">{}</p>', t("No such rule or action.")),
                                 p.session), status_code=404)
    if action == "enable" and p.form.get("confirm") != "yes":
        body = fmt('{listing}<form method="post" action="/admin/rules/{name}/enable" class="inline">{csrf}'
                   '<input type="hidden" name="confirm" value="yes"><button type="submit" class="confirm-enable">{yes}</button>'
                   '</form> <a href="/admin/settings#rules">{no}</a>', listing=dry_run_listing(request, rule),
                   name=quote(name, safe=""), csrf=csrf_field(p.session), yes=t("Enable the rule now"), no=t("Cancel"))
        return HTMLResponse(page(t("Enable rule {0}?", name), body, p.session, active="/admin/settings"))
    if action == "delete":
        data["rules"] = [r for r in data["rules"] if r["name"] != name]
    else:
        rule["enabled"] = action == "enable"
    error = store.save(request, p.session.user.username, data, f"rule {name} {action}")
    if error:
        return HTMLResponse(page(t("Settings"), messages(error), p.session), status_code=400)
    return RedirectResponse("/admin/settings?saved=1#rules", status_code=303)
