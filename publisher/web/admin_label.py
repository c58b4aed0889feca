"""The label template edited on the Settings page: the TOML of ``config/labels/default.toml``
(geometry, fonts, which field goes where), saved as ``<data_dir>/label-template.toml``, which
every label from then on is drawn with (:func:`publisher.jobs.labels.current_template`); reset
removes it and the shipped template is used again."""

from __future__ import annotations

import tomllib
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher import audit
from publisher.config import overlay
from publisher.jobs import labels as job_labels
from publisher.labels.template import TEMPLATE_DIR, template_from_dict
from publisher.web.auth import Permission, Session
from publisher.web.context import Posted, posted, require, web
from publisher.web.i18n import t
from publisher.web.render import csrf_field, fmt, messages, page, post_button

router = APIRouter()
SHIPPED = TEMPLATE_DIR / "default.toml"
MAX_TEMPLATE_CHARS = 64 * 1024


def _site(request: Request) -> str:
    data_dir = web(request).data_dir
    if data_dir is None:
        raise ValueError(t("This web app was started without its settings; edit the configuration files instead."))
    return str(data_dir / job_labels.SITE_TEMPLATE)


def _page(request: Request, session: Session, text: str, *, error: str = "", notice: str = "", status: int = 200) -> HTMLResponse:
    site = Path(_site(request))
    body = fmt(
        '{msg}<p>{which} <code>{file}</code>.</p><form method="post" action="/admin/settings/label" class="stack wide">{csrf}'
        '<label>{l_text} <textarea name="template" rows="28" cols="90" spellcheck="false">{text}</textarea></label>'
        '<button type="submit">{save}</button></form>{reset}<p><a href="/admin/settings">{back}</a></p>',
        msg=messages(error, notice), which=t("Labels are drawn with") if site.exists() else t("Labels are drawn with the shipped"),
        file=site if site.exists() else SHIPPED, csrf=csrf_field(session), l_text=t("Label template (TOML)"), text=text,
        save=t("Save"), back=t("Back to the settings"),
        reset=post_button(session, "/admin/settings/label/reset", t("Back to the shipped template"),
                          confirm=t("Use the shipped template again?")) if site.exists() else "",
    )
    return HTMLResponse(page(t("Label template"), body, session, active="/admin/settings"), status_code=status)


@router.get("/admin/settings/label", response_class=HTMLResponse)
def label_page(request: Request, saved: str = "", session: Session = Depends(require(Permission.CONFIGURE))) -> HTMLResponse:
    site = Path(_site(request))
    text = (site if site.exists() else SHIPPED).read_text(encoding="utf-8")
    return _page(request, session, text, notice=t("Saved; the next label uses it.") if saved else "")


@router.post("/admin/settings/label", response_class=HTMLResponse)
def save_label(request: Request, p: Posted = Depends(posted(Permission.CONFIGURE))) -> Response:
    text = p.form.get("template").replace("\r\n", "\n")
    try:
        if len(text) > MAX_TEMPLATE_CHARS:
            raise ValueError(t("The template is longer than {0} characters.", MAX_TEMPLATE_CHARS))
        template_from_dict(tomllib.loads(text), name="site", base=TEMPLATE_DIR)
    except (tomllib.TOMLDecodeError, ValueError, TypeError, KeyError) as exc:
        return _page(request, p.session, text, error=t("The template was not saved: {0}", str(exc)[:300]), status=400)
    site = overlay.write_atomically(Path(_site(request)), text)
    with web(request).db.session() as s:
        audit.record(s, p.session.user.username, "settings-change", "settings label template", {"file": str(site)})
    return RedirectResponse("/admin/settings/label?saved=1", status_code=303)


@router.post("/admin/settings/label/reset", response_class=HTMLResponse)
def reset_label(request: Request, p: Posted = Depends(posted(Permission.CONFIGURE))) -> Response:
    Path(_site(request)).unlink(missing_ok=True)
    with web(request).db.session() as s:
        audit.record(s, p.session.user.username, "settings-change", "settings label template", {"reset": True})
    return RedirectResponse("/admin/settings/label", status_code=303)
