"""The robots' status panel: per robot its drives, bins, blanks left, ink and printer, and each
fault in words with what to do next (:mod:`publisher.jobs.robots`); ``/api/robots`` the same as JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from publisher.jobs.robots import RobotView
from publisher.web.auth import Permission, Session
from publisher.web.context import require, web
from publisher.web.render import Safe, fmt, join, page

router = APIRouter()


def _views(request: Request) -> list[RobotView]:
    board = web(request).robots
    return board().views() if board is not None else []


def _count(n: int | None) -> str:
    return "not reported" if n is None else str(n)


def _panel(v: RobotView) -> Safe:
    drives = join(fmt('<li>drive {}: <span class="drive-{}">{}</span></li>', i, s, s) for i, s in v.drives)
    ink = ", ".join(f"{c} {p} %" for c, p in v.ink_percent) or "not reported"
    faults = join(fmt('<li class="fault"><span class="what">{}</span> <span class="next-step">What to do: {}</span></li>',
                      f.message, f.next_step) for f in v.faults)
    return fmt(
        '<section class="robot" data-robot="{name}"><h2>{name} <small>({kind}{default})</small> '
        '<span class="{cls}">{online}</span></h2>'
        '<table class="facts"><tr><th>Drives</th><td><ul class="drives">{drives}</ul></td></tr>'
        '<tr><th>Blanks left</th><td class="blanks">{blanks}</td></tr>'
        '<tr><th>Output bin</th><td class="output-bin">{out}</td></tr><tr><th>Reject bin</th><td class="reject-bin">{rej}</td></tr>'
        '<tr><th>Ink</th><td class="ink">{ink}</td></tr><tr><th>Printer</th><td class="printer">{printer}</td></tr>'
        '<tr><th>Media</th><td>{media}</td></tr></table>{faults}</section>',
        name=v.name, kind=v.kind, default=", default" if v.default else "", cls="ok" if v.online else "error-text",
        online="online" if v.online else "offline", drives=drives,
        blanks=", ".join(_count(b) for b in v.blanks_left) or "not reported", out=_count(v.output_bin),
        rej=_count(v.reject_bin), ink=ink, printer=v.printer or "not reported", media=", ".join(v.media),
        faults=fmt('<ul class="faults">{}</ul>', faults) if v.faults else fmt('<p class="ok">No fault.</p>'))


@router.get("/robots", response_class=HTMLResponse)
def robots_page(request: Request, session: Session = Depends(require(Permission.VIEW_JOBS))) -> HTMLResponse:
    views = _views(request)
    body = join(_panel(v) for v in views) if views else fmt('<p class="empty">No robot is configured in this process.</p>')
    return HTMLResponse(page("Robots", fmt('<div id="robots">{}</div>', body), session, active="/robots"))


@router.get("/api/robots")
def robots_api(request: Request, session: Session = Depends(require(Permission.VIEW_JOBS))) -> list[dict[str, Any]]:
    return [v.to_json() for v in _views(request)]
