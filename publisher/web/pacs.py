"""Remote PACS in the web UI: find studies at each configured remote (C-FIND), retrieve the
ones ticked into the archive with live progress (C-MOVE / C-GET, PS3.4 C.4.2 / C.4.3), and
"retrieve and burn": once everything arrived, the disc jobs are queued as the burn form would
(one per patient, the smallest medium that fits).

The network is not this room's: ``publisher serve`` sets ``app.state.pacs`` to a
:class:`Gateway` (:class:`publisher.intake.pacs.PacsGateway`). A retrieval runs in a thread of
the web process; its progress lives in memory and the page reloads itself while it runs."""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher.archive.lookup import picks_by_patient
from publisher.jobs.disc_job import create_job
from publisher.jobs.selection import Selection
from publisher.web.auth import Permission, Session
from publisher.web.burn_plan import plan_burn
from publisher.web.context import Posted, RowId, posted, require, web
from publisher.web.render import Safe, csrf_field, dicom_date, fmt, join, messages, options, page, person_name
from publisher.web.studies import BurnForm

router = APIRouter()
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_KEY = re.compile(r"[^\\]{0,64}")


class Gateway(Protocol):
    def titles(self) -> list[str]: ...

    def find_studies(self, ae_title: str, keys: Mapping[str, str]) -> list[dict[str, str]]: ...

    def retrieve(self, ae_title: str, study_uids: Sequence[str], progress: Callable[[int, int], None]) -> str: ...


@dataclass
class Retrieval:
    """One retrieval the web started: what, from where, how far, and the jobs it queued."""

    id: int
    remote: str
    studies: list[str]
    burn: bool
    user: str
    state: str = "running"
    done: int = 0
    total: int = 0
    message: str = "asking the remote what the studies hold"
    jobs: list[int] = field(default_factory=list)


_ids = itertools.count(1)
_lock = threading.Lock()


def _gateway(request: Request) -> Gateway | None:
    return getattr(request.app.state, "pacs", None)


def _tasks(request: Request) -> dict[int, Retrieval]:
    with _lock:
        if not hasattr(request.app.state, "pacs_tasks"):
            request.app.state.pacs_tasks = {}
        tasks: dict[int, Retrieval] = request.app.state.pacs_tasks
        return tasks


def _query_form(titles: list[str], q: Mapping[str, str]) -> Safe:
    return fmt(
        '<form method="get" action="/pacs" class="search"><label>Remote <select name="remote">{remotes}</select></label>'
        '<label>Patient name <input name="name" value="{name}" placeholder="MULLER*"></label>'
        '<label>Patient ID <input name="pid" value="{pid}"></label>'
        '<label>Study date <input name="date" value="{date}" placeholder="20260101-20261231"></label>'
        '<label>Accession <input name="accession" value="{acc}"></label><button type="submit">Find</button></form>'
        '<p class="hint">The remote matches as its C-FIND does (PS3.4 C.2.2.2): <code>*</code> any characters, '
        '<code>?</code> one; many PACS match names case-sensitively, so try capitals.</p>',
        remotes=options({t: t for t in titles}, q.get("remote", "")), name=q.get("name", ""), pid=q.get("pid", ""),
        date=q.get("date", ""), acc=q.get("accession", ""))


@router.get("/pacs", response_class=HTMLResponse)
def pacs_page(request: Request, session: Session = Depends(require(Permission.BURN))) -> HTMLResponse:
    gateway = _gateway(request)
    titles = gateway.titles() if gateway is not None else []
    q = {k: request.query_params.get(k, "").strip()[:64] for k in ("remote", "name", "pid", "date", "accession")}
    error, table = "", Safe("")
    if not titles:
        error = "No remote PACS is configured: an administrator adds them under [dicom] remotes (docs/admin.md)."
    elif q["remote"]:
        keys = {k: v for k, v in (("PatientName", q["name"]), ("PatientID", q["pid"]), ("StudyDate", q["date"]),
                                  ("AccessionNumber", q["accession"])) if v}
        if not all(_KEY.fullmatch(v) for v in keys.values()):
            error = "A search value may not hold a backslash."
        else:
            try:
                assert gateway is not None
                table = _results(session, q["remote"], gateway.find_studies(q["remote"], keys))
            except ValueError as exc:
                error = f"The remote {q['remote']} did not answer the query: {exc}"
    body = fmt("{form}{msg}{table}", form=_query_form(titles, q), msg=messages(error), table=table)
    return HTMLResponse(page("Remote PACS", body, session, active="/pacs"), status_code=400 if error and titles else 200)


def _results(session: Session, remote: str, found: list[dict[str, str]]) -> Safe:
    if not found:
        return fmt('<p class="empty">{}</p>', f"{remote} has no study that matches.")
    rows = join(fmt(
        '<tr data-remote-study="{uid}"><td><input type="checkbox" name="study" value="{uid}" aria-label="select study">'
        '</td><td class="pname">{name}</td><td class="pid">{pid}</td><td>{date}</td><td>{desc}</td><td>{acc}</td>'
        '<td>{mods}</td><td class="num">{n}</td></tr>', uid=r["StudyInstanceUID"], name=person_name(r["PatientName"]),
        pid=r["PatientID"], date=dicom_date(r["StudyDate"]), desc=r["StudyDescription"], acc=r["AccessionNumber"],
        mods=r["ModalitiesInStudy"].replace("\\", ", "), n=r["NumberOfStudyRelatedInstances"]) for r in found)
    return fmt(
        '<form method="post" action="/pacs/retrieve" class="burn">{csrf}<input type="hidden" name="remote" value="{remote}">'
        '<table class="studies"><thead><tr><th></th><th>Patient</th><th>Patient ID</th><th>Study date</th>'
        '<th>Description</th><th>Accession</th><th>Modalities</th><th>Instances</th></tr></thead><tbody>{rows}</tbody>'
        '</table><button type="submit" name="burn" value="0">Retrieve</button> '
        '<button type="submit" name="burn" value="1">Retrieve and burn</button>'
        '<p class="hint">Retrieve and burn queues one disc job per patient on the smallest medium that fits, '
        'one copy, once every instance arrived.</p></form>',
        csrf=csrf_field(session), remote=remote, rows=rows)


def _run(db: Any, gateway: Gateway, task: Retrieval) -> None:
    def progress(done: int, total: int) -> None:
        task.done, task.total, task.message = done, total, f"{done} of {total} instance(s) retrieved"

    try:
        task.message = gateway.retrieve(task.remote, task.studies, progress)
        if task.burn:
            picks = picks_by_patient(db, task.studies, [])
            plan = plan_burn(picks, BurnForm(task.studies), together=False)
            task.jobs = [create_job(db, Selection(studies=s.studies), media=s.media, created_by=task.user)
                         for s in plan.sets]
        task.state = "done"
    except Exception as exc:  # the remote's refusal, or anything else: the page says it
        task.state, task.message = "failed", str(exc) or exc.__class__.__name__


@router.post("/pacs/retrieve")
def start_retrieve(request: Request, p: Posted = Depends(posted(Permission.BURN))) -> Response:
    gateway = _gateway(request)
    remote, studies = p.form.get("remote"), p.form.getlist("study")
    if gateway is None or remote not in gateway.titles():
        raise HTTPException(400, f"no remote {remote[:20]!r} is configured")
    bad = [u for u in studies if len(u) > 64 or not _UID.fullmatch(u)]
    if not studies or bad:
        return HTMLResponse(page("Remote PACS", messages("Tick at least one study to retrieve." if not studies
                                                         else f"Not a DICOM UID: {bad[0][:80]!r}."), p.session,
                                 active="/pacs"), status_code=400)
    task = Retrieval(next(_ids), remote, studies, p.form.get("burn") == "1", p.session.user.username)
    _tasks(request)[task.id] = task
    threading.Thread(target=_run, args=(web(request).db, gateway, task), name=f"pacs-retrieve-{task.id}",
                     daemon=True).start()
    return RedirectResponse(f"/pacs/retrievals/{task.id}", status_code=303)


@router.get("/pacs/retrievals/{task_id}", response_class=HTMLResponse)
def retrieval_page(request: Request, task_id: RowId, session: Session = Depends(require(Permission.BURN))) -> HTMLResponse:
    task = _tasks(request).get(task_id)
    if task is None:
        raise HTTPException(404, f"no retrieval {task_id} (they are kept until the service restarts)")
    pct = 100 if task.state == "done" else (100 * task.done // task.total if task.total else 0)
    jobs = join((fmt('<li><a href="/jobs/{id}">Disc job {id}</a></li>', id=j) for j in task.jobs))
    body = fmt(
        '<p>From <strong>{remote}</strong>: {n} study(ies){burn}.</p>'
        '<p class="retrieval {state}">State: <span class="state">{state}</span> <progress max="100" value="{pct}">'
        '</progress> <span class="pct">{pct}%</span></p><p class="message">{message}</p>{jobs}'
        '<p><a href="/studies">Studies</a> · <a href="/pacs">Remote PACS</a></p>',
        remote=task.remote, n=len(task.studies), burn=", then burn" if task.burn else "", state=task.state, pct=pct,
        message=task.message, jobs=fmt('<ul class="jobs">{}</ul>', jobs) if task.jobs else "")
    html = page("Retrieval", body, session, active="/pacs")
    if task.state == "running":  # live progress without a script: the page asks again each second
        html = html.replace("<head>", '<head><meta http-equiv="refresh" content="1">', 1)
    return HTMLResponse(html)
