"""The front desk: discs ready to hand out, found by patient (name in any case and with or
without accents, or patient ID), superseded ones marked; and the printable hand-over receipt
(PDF) with the audit number of the hand-over (docs/architecture.md, section 7)."""

from __future__ import annotations

import json
import tempfile
import unicodedata
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from starlette.background import BackgroundTask
from fastapi.responses import FileResponse

from publisher.archive import lookup
from publisher import audit
from publisher.jobs import handout as desk_rules
from publisher.labels.receipt import Receipt, render_receipt
from publisher.web.auth import Permission, Session
from publisher.web.context import RowId, require, web
from publisher.web.jobs import _handouts_by_job, _names, handable_discs, job_patients
from publisher.web.render import fmt, join, page

router = APIRouter()

#: how many recent jobs the desk looks through
DESK_LIMIT = 300


def folded(text: str) -> str:
    """Lower case without accents and with DICOM's ``^`` as a space: ``Müller^Jürgen`` -> ``muller jurgen``."""
    decomposed = unicodedata.normalize("NFKD", text.replace("^", " "))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _matches(query: str, patients: list[tuple[str, str]]) -> bool:
    words = folded(query).split()
    return all(any(w in folded(pid) or w in folded(name) for pid, name in patients) for w in words)


@router.get("/desk", response_class=HTMLResponse)
def desk(request: Request, q: str = "", session: Session = Depends(require(Permission.HAND_OUT))) -> HTMLResponse:
    q = q.strip()[:100]
    with web(request).db.session() as s:
        jobs = [j for j in lookup.recent_jobs(s, DESK_LIMIT) if j.state in desk_rules.HANDABLE_STATES]
        patients = job_patients(s, jobs)
        handed = _handouts_by_job(s, [j.id for j in jobs])
        newer = desk_rules.superseded(s, jobs)
    rows = []
    for j in jobs:
        left = [d for d in handable_discs(j) if d.key not in handed[j.id]]
        if not left or (q and not _matches(q, patients.get(j.id, []))):
            continue
        mark = fmt('<span class="superseded">superseded by job <a href="/jobs/{n}">{n}</a></span>', n=newer[j.id]) \
            if j.id in newer else fmt('<span class="state state-{s}">{s}</span>', s=j.state)
        rows.append(fmt(
            '<tr data-job="{id}" class="{cls}"><td><a href="/jobs/{id}">{id}</a></td><td>{patients}</td>'
            '<td>{left} of {all} disc(s)</td><td>{mark}</td><td>{created} UTC</td>'
            '<td><a class="button" href="/jobs/{id}/handout">Hand out</a></td></tr>',
            id=j.id, cls="superseded" if j.id in newer else "", patients=_names(patients.get(j.id, [])),
            left=len(left), all=len(handable_discs(j)), mark=mark, created=format(j.created_at, "%Y-%m-%d %H:%M")))
    body = fmt(
        '<form method="get" action="/desk" class="search"><label>Patient (name or ID) '
        '<input name="q" value="{q}" autofocus></label><button type="submit">Search</button></form>'
        '<table class="desk" id="desk"><thead><tr><th>Job</th><th>Patients</th><th>Ready</th><th>Mark</th>'
        '<th>Created</th><th></th></tr></thead><tbody>{rows}</tbody></table>{empty}',
        q=q, rows=join(rows),
        empty=fmt('<p class="empty">{}</p>', f"No disc ready for {q!r}." if q else "No disc is waiting to be handed out.")
        if not rows else "")
    return HTMLResponse(page("Front desk", body, session, active="/desk"))


@router.get("/desk/receipts/{event_id}.pdf")
def receipt(request: Request, event_id: RowId, session: Session = Depends(require(Permission.HAND_OUT))) -> Response:
    """The receipt of hand-over ``event_id`` (the audit event's id is the receipt's number)."""
    with web(request).db.session() as s:
        found = lookup.audit_events(s, 1, action=audit.HANDOUT, before=event_id + 1)
        event = found[0] if found and found[0].id == event_id else None
        if event is None:
            raise HTTPException(404, f"no hand-over {event_id}")
        d = json.loads(event.detail or "{}")
        who, at = event.actor, event.at
    rec = d.get("recipient", {})
    content = Receipt(
        audit_number=event_id, when=f"{at:%Y-%m-%d %H:%M} UTC", job=int(d.get("job", 0)),
        discs=[f"disc {x['volume']} of {x.get('of', '?')}, copy {x['copy']} ({x.get('file_set_id', '')})"
               for x in d.get("discs", [])],
        patients=[(p.get("id", ""), p.get("name", "")) for p in d.get("patients", [])],
        recipient=rec.get("name", ""), relation=audit.RECIPIENT_RELATIONS.get(rec.get("relation", ""), ""),
        id_checked=bool(rec.get("id_checked")), handed_by=who, note=d.get("note", ""))
    folder = Path(tempfile.mkdtemp(prefix="receipt-"))
    path = render_receipt(content, folder / f"receipt-{event_id}.pdf")

    def clean() -> None:
        path.unlink(missing_ok=True)
        folder.rmdir()

    return FileResponse(path, media_type="application/pdf", filename=path.name, content_disposition_type="inline",
                        background=BackgroundTask(clean))
