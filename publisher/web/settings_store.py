"""The Settings page's one way to change settings: check, write ``<data_dir>/settings.toml``
(:mod:`publisher.config.overlay`), make the running service take it, record it in the audit
trail. Shared by the pages of :mod:`publisher.web.admin_settings` and :mod:`publisher.web.admin_rules`."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import Request

from publisher import audit
from publisher.config import ConfigError, Settings, overlay
from publisher.web.context import web
from publisher.web.i18n import t


class NotEditable(Exception):
    """This app was started without the running settings (tests, embedding): nothing to edit."""


def current(request: Request) -> Settings:
    settings = web(request).settings
    if settings is None or web(request).data_dir is None:
        raise NotEditable(t("This web app was started without its settings; edit the configuration files instead."))
    return settings


def tables(request: Request) -> dict[str, Any]:
    """A copy of the editable tables, to change and hand to :func:`save`."""
    return copy.deepcopy(overlay.editable(current(request)))


def save(request: Request, actor: str, data: dict[str, Any], what: str) -> str:
    """Check and store ``data``; "" when it was saved and applied, else the reason in words."""
    ctx = web(request)
    try:
        new = overlay.applied(current(request), data)
    except (ConfigError, ValueError, TypeError) as exc:
        return str(exc)[:400]
    assert ctx.data_dir is not None
    written = overlay.write(ctx.data_dir, data, who=actor)
    ctx.settings = new
    if ctx.apply_settings is not None:
        ctx.apply_settings(new)
    with ctx.db.session() as s:
        audit.record(s, actor, "settings-change", f"settings {what}"[:128], {"file": str(written), "tables": data})
    return ""
