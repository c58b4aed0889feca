"""The forward queue page (``/forwards``): what the router still has to send, what failed and
why, retry now or cancel (:mod:`publisher.routing.queue`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher import audit
from publisher.routing import queue
from publisher.web.auth import Permission, Session
from publisher.web.context import Posted, RowId, posted, require, web
from publisher.web.render import Safe, fmt, join, page, post_button

router = APIRouter()


@router.get("/forwards", response_class=HTMLResponse)
def forwards_page(request: Request, session: Session = Depends(require(Permission.MANAGE_FORWARDS))) -> HTMLResponse:
    db = web(request).db
    counts = queue.counts(db)
    summary = join(fmt('<tr data-destination="{d}" data-state="{s}"><td>{d}</td><td>{s}</td><td class="count">{n}</td></tr>',
                       d=d, s=s, n=n) for (d, s), n in sorted(counts.items()))
    items = queue.listing(db)

    def actions(i: queue.QueuedItem) -> Safe:
        return join([post_button(session, f"/forwards/{i.id}/retry", "Retry now"),
                     post_button(session, f"/forwards/{i.id}/cancel", "Cancel", confirm="Never send this instance there?")])

    rows = join(fmt('<tr data-item="{id}" class="{state}"><td>{id}</td><td>{dest}</td><td class="state">{state}</td>'
                    '<td>{attempts}</td><td>{due} UTC</td><td><code>{uid}</code></td><td class="error">{error}</td><td>{actions}</td></tr>',
                    id=i.id, dest=i.destination, state=i.state, attempts=i.attempts, due=format(i.due_at, "%Y-%m-%d %H:%M:%S"),
                    uid=i.sop_instance_uid, error=i.error, actions=actions(i)) for i in items)
    body = fmt('<table class="forward-summary"><thead><tr><th>Destination</th><th>State</th><th>Instances</th></tr></thead>'
               '<tbody>{summary}</tbody></table>'
               '<h2>Waiting, failed and held</h2><table class="forwards"><thead><tr><th>#</th><th>Destination</th><th>State</th>'
               '<th>Attempts</th><th>Next attempt</th><th>SOP Instance UID</th><th>Last error</th><th></th></tr></thead>'
               '<tbody>{rows}</tbody></table>', summary=summary, rows=rows or Safe('<tr><td colspan="8">Nothing waits.</td></tr>'))
    return HTMLResponse(page("Forward queue", body, session, active="/forwards"))


@router.post("/forwards/{item_id}/{action}", response_class=HTMLResponse)
def forward_action(request: Request, item_id: RowId, action: str, p: Posted = Depends(posted(Permission.MANAGE_FORWARDS))) -> Response:
    if action not in ("retry", "cancel"):
        return RedirectResponse("/forwards", status_code=303)
    db = web(request).db
    n = queue.retry(db, [item_id]) if action == "retry" else queue.cancel(db, [item_id])
    with db.session() as s:
        audit.record(s, p.session.user.username, f"forward-{action}", f"forward {item_id}", {"items": n})
    return RedirectResponse("/forwards", status_code=303)
