"""The Settings page: institution, allowed callers, remotes and the list of burn rules, edited
by administrators and stored in ``<data_dir>/settings.toml`` (downloadable here, to back up or
diff); each change is applied to the running service at once (:mod:`publisher.web.settings_store`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from publisher.config import SERVICES, overlay
from publisher.web import settings_store as store
from publisher.web.auth import Permission, Session
from publisher.web.context import Count, Posted, posted, require, web
from publisher.web.i18n import t
from publisher.web.render import Safe, csrf_field, fmt, join, messages, options, page, post_button

router = APIRouter()


def _callers(session: Session, callers: list[dict[str, Any]]) -> Safe:
    rows = join(fmt('<tr data-caller="{ae}"><td>{ae}</td><td>{host}</td><td>{services}</td><td>{remove}</td></tr>', ae=c["ae_title"],
                    host=c.get("host") or t("any address"), services=", ".join(c["services"]),
                    remove=post_button(session, f"/admin/settings/callers/remove?index={i}", t("Remove")))
                for i, c in enumerate(callers))
    boxes = join(fmt('<label class="check"><input type="checkbox" name="services" value="{0}"{1}> {0}</label>', s,
                     Safe(" checked") if s in ("store", "echo", "commitment") else "") for s in SERVICES)
    return fmt(
        '<h2 id="callers">{title}</h2><p>{hint}</p><table class="callers"><thead><tr><th>{ae}</th><th>{host}</th><th>{services}</th>'
        '<th></th></tr></thead><tbody>{rows}</tbody></table><form method="post" action="/admin/settings/callers/add" class="stack">'
        '{csrf}<label>{ae} <input name="ae_title" required maxlength="16"></label><label>{host} <input name="host" '
        'placeholder="{any}"></label><fieldset><legend>{services}</legend>{boxes}</fieldset><button type="submit">{add}</button></form>',
        title=t("Allowed callers"), hint=t("Calling AE titles that may associate with us; remotes are allowed too."),
        ae=t("AE title"), host=t("Host address"), services=t("Services"), rows=rows, csrf=csrf_field(session), any=t("any address"),
        boxes=boxes, add=t("Add caller"))


def _remotes(session: Session, remotes: list[dict[str, Any]]) -> Safe:
    rows = join(fmt('<tr data-remote="{ae}"><td>{ae}</td><td>{host}</td><td>{port}</td><td>{tls}</td><td>{retrieve}</td><td>{remove}</td>'
                    '</tr>', ae=r["ae_title"], host=r["host"], port=r["port"], tls=t("yes") if r["tls"] else t("no"),
                    retrieve=r["retrieve"], remove=post_button(session, f"/admin/settings/remotes/remove?index={i}", t("Remove")))
                for i, r in enumerate(remotes))
    return fmt(
        '<h2 id="remotes">{title}</h2><table class="remotes"><thead><tr><th>{ae}</th><th>{host}</th><th>{port}</th><th>TLS</th>'
        '<th>{retrieve}</th><th></th></tr></thead><tbody>{rows}</tbody></table>'
        '<form method="post" action="/admin/settings/remotes/add" class="stack">{csrf}<label>{ae} <input name="ae_title" required '
        'maxlength="16"></label><label>{host} <input name="host" required></label><label>{port} <input name="port" type="number" '
        'min="1" max="65535" value="104" required></label><label class="check"><input type="checkbox" name="tls" value="yes"> TLS'
        '</label><label>{retrieve} <select name="retrieve">{ways}</select></label><button type="submit">{add}</button></form>',
        title=t("Remotes (PACS and other peers)"), ae=t("AE title"), host=t("Host"), port=t("Port"), retrieve=t("Retrieve by"),
        rows=rows, csrf=csrf_field(session), ways=options({"move": "C-MOVE", "get": "C-GET"}, "move"), add=t("Add remote"))


def _rules(session: Session, rules: list[dict[str, Any]]) -> Safe:
    def actions(r: dict[str, Any]) -> Safe:
        name = quote(r["name"], safe="")
        toggle = post_button(session, f"/admin/rules/{name}/{'disable' if r['enabled'] else 'enable'}",
                             t("Disable") if r["enabled"] else t("Enable…"))
        return fmt('<a href="/admin/rules/edit?name={}">{}</a> {} {}', name, t("Edit / dry run"), toggle,
                   post_button(session, f"/admin/rules/{name}/delete", t("Delete"), confirm=t("Delete rule {0}?", r["name"])))

    rows = join(fmt('<tr data-rule="{name}"><td>{name}</td><td class="state">{state}</td><td>{what}</td><td>{media} x{copies}</td>'
                    '<td>{actions}</td></tr>', name=r["name"], state=t("enabled") if r["enabled"] else t("off"),
                    what=t("{0}, sent by {1}, after {2:g} min quiet", " ".join(r["modalities"]) or t("any modality"),
                           ", ".join(r["calling_aes"]) or t("anyone"), r["quiet_minutes"]),
                    media=r["media"], copies=r["copies"], actions=actions(r))
                for r in rules)
    return fmt('<h2 id="rules">{title}</h2><table class="rules"><thead><tr><th>{name}</th><th>{state}</th><th>{what}</th><th>{media}</th>'
               '<th></th></tr></thead><tbody>{rows}</tbody></table><p><a href="/admin/rules/edit">{new}</a></p>',
               title=t("Burn rules"), name=t("Name"), state=t("State"), what=t("Burns"), media=t("Medium"), rows=rows,
               new=t("New rule"))


def render(request: Request, session: Session, *, error: str = "", notice: str = "", status: int = 200) -> HTMLResponse:
    try:
        data = store.tables(request)
    except store.NotEditable as exc:
        return HTMLResponse(page(t("Settings"), messages(str(exc)), session, active="/admin/settings"), status_code=409)
    ctx = web(request)
    assert ctx.data_dir is not None
    body = fmt(
        '{msg}<p>{where} <code>{file}</code> (<a href="/admin/settings.toml">{download}</a>). {applied}</p>'
        '<h2 id="institution">{l_inst}</h2><form method="post" action="/admin/settings/institution" class="stack">{csrf}'
        '<label>{l_inst} <input name="institution" value="{inst}" maxlength="64"></label><button type="submit">{save}</button></form>'
        '<p><a href="/admin/settings/label">{label}</a></p>{rules}{callers}{remotes}',
        msg=messages(error, notice), where=t("Stored in"), file=str(overlay.path(ctx.data_dir)), download=t("download"),
        applied=t("Changes apply at once, without a restart."), l_inst=t("Institution on labels"), csrf=csrf_field(session),
        inst=data["service"]["institution"], save=t("Save"), label=t("Edit the label template"), rules=_rules(session, data["rules"]),
        callers=_callers(session, data["dicom"]["allowed_callers"]), remotes=_remotes(session, data["dicom"]["remotes"]),
    )
    return HTMLResponse(page(t("Settings"), body, session, active="/admin/settings"), status_code=status)


@router.get("/admin/settings", response_class=HTMLResponse)
def settings_page(request: Request, saved: str = "", session: Session = Depends(require(Permission.CONFIGURE))) -> HTMLResponse:
    return render(request, session, notice=t("Saved and applied.") if saved else "")


@router.get("/admin/settings.toml", response_class=PlainTextResponse)
def download(request: Request, session: Session = Depends(require(Permission.CONFIGURE))) -> Response:
    """The stored file, or what it would hold (the running settings) when nothing was saved yet."""
    ctx = web(request)
    path = overlay.path(ctx.data_dir) if ctx.data_dir is not None else None
    text = path.read_text(encoding="utf-8") if path is not None and path.exists() else overlay.dumps(store.tables(request))
    return PlainTextResponse(text, media_type="application/toml; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="settings.toml"'})


def _saved(request: Request, p: Posted, data: dict[str, Any], what: str) -> Response:
    error = store.save(request, p.session.user.username, data, what)
    if error:
        return render(request, p.session, error=error, status=400)
    return RedirectResponse(f"/admin/settings?saved=1#{what.split()[0]}", status_code=303)


@router.post("/admin/settings/institution", response_class=HTMLResponse)
def institution(request: Request, p: Posted = Depends(posted(Permission.CONFIGURE))) -> Response:
    data = store.tables(request)
    data["service"]["institution"] = p.form.get("institution").strip()
    return _saved(request, p, data, "institution")


@router.post("/admin/settings/callers/add", response_class=HTMLResponse)
def add_caller(request: Request, p: Posted = Depends(posted(Permission.CONFIGURE))) -> Response:
    data = store.tables(request)
    caller: dict[str, Any] = {"ae_title": p.form.get("ae_title").strip(), "services": p.form.getlist("services")}
    if p.form.get("host").strip():
        caller["host"] = p.form.get("host").strip()
    data["dicom"]["allowed_callers"].append(caller)
    return _saved(request, p, data, "callers")


@router.post("/admin/settings/remotes/add", response_class=HTMLResponse)
def add_remote(request: Request, p: Posted = Depends(posted(Permission.CONFIGURE))) -> Response:
    data = store.tables(request)
    try:
        port = int(p.form.get("port"))
    except ValueError:
        return render(request, p.session, error=t("The port must be a number."), status=400)
    data["dicom"]["remotes"].append({"ae_title": p.form.get("ae_title").strip(), "host": p.form.get("host").strip(), "port": port,
                                     "tls": p.form.get("tls") == "yes", "retrieve": p.form.get("retrieve", "move")})
    return _saved(request, p, data, "remotes")


@router.post("/admin/settings/{kind}/remove", response_class=HTMLResponse)
def remove(request: Request, kind: str, index: Count = 0, p: Posted = Depends(posted(Permission.CONFIGURE))) -> Response:
    key = {"callers": "allowed_callers", "remotes": "remotes"}.get(kind)
    data = store.tables(request)
    if key is None or index >= len(data["dicom"][key]):
        return render(request, p.session, error=t("Nothing to remove there."), status=404)
    del data["dicom"][key][index]
    return _saved(request, p, data, kind)
