"""Disc jobs for people: the list with live progress, a job's page (volumes, discs, errors in
words with what to do, hand-outs), resubmit, and the front desk's hand-out form that completes
the audit trail with who took which disc (docs/architecture.md, section 7). Cancel, burn again
and downloads are :mod:`publisher.web.job_actions`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher.archive import lookup
from publisher.archive.identity import parse_ref
from publisher.db.models import AuditEvent, DiscJob
from publisher.db.session import Transaction as DbSession
from publisher import audit
from publisher.jobs import handout as desk_rules
from publisher.jobs import records
from publisher.jobs.disc_job import resubmit
from publisher.jobs.preflight import exclusions
from publisher.jobs.robots import explain
from publisher.jobs.state import InvalidTransition, JobState
from publisher.web import job_actions
from publisher.web.auth import Permission, Session, may
from publisher.web.context import Posted, RowId, posted, require, web
from publisher.web.render import Safe, csrf_field, dicom_date, fmt, join, messages, options, page, person_name, post_button, size

router = APIRouter()

LIST_LIMIT = 100
MAX_RECIPIENT = 200
#: States that do not change by themselves: a job page in one of them stops polling.
SETTLED = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class Disc:
    """One physical disc of a finished job (or one folder / USB volume)."""

    volume: int
    copy: int
    count: int
    file_set_id: str

    @property
    def key(self) -> str:
        return f"{self.volume}-{self.copy}"

    def as_detail(self) -> dict[str, Any]:
        return {"volume": self.volume, "of": self.count, "copy": self.copy, "file_set_id": self.file_set_id}


def handable_discs(job: DiscJob) -> list[Disc]:
    volumes = {v.number: v for v in records.load_volumes(job.volumes)}
    discs = desk_rules.good_discs(job)
    out = []
    for d in discs:
        v = volumes.get(d.volume)
        out.append(Disc(d.volume, d.copy, v.count if v else len(volumes) or 1, v.file_set_id if v else ""))
    return out


def handed_keys(events: Sequence[tuple[AuditEvent, dict[str, Any]]]) -> set[str]:
    return {f"{d['volume']}-{d['copy']}" for _e, detail in events for d in detail.get("discs", [])}


def job_patients(s: DbSession, jobs: Sequence[DiscJob]) -> dict[int, list[tuple[str, str]]]:
    """(patient ID, name) of each job: from its volumes once mastered, else from its selection."""
    out: dict[int, list[tuple[str, str]]] = {}
    pending: dict[int, records.Selection] = {}
    for job in jobs:
        volumes = records.load_volumes(job.volumes)
        if volumes:
            out[job.id] = sorted({(p.id, p.name) for v in volumes for p in v.patients})
        else:
            pending[job.id] = records.Selection.loads(job.selection)
    if pending:
        pids = {parse_ref(x)[0] for sel in pending.values() for x in sel.patients}
        studies = {x for sel in pending.values() for x in sel.studies}
        series = {x for sel in pending.values() for x in sel.series}
        names = lookup.patient_names(s, pids, studies, series)
        by_pid, by_study, by_series = names.by_patient_id, names.by_study, names.by_series
        for job_id, sel in pending.items():
            found = [by_pid.get(parse_ref(x)[0]) for x in sel.patients] + [by_study.get(x) for x in sel.studies] + \
                    [by_series.get(x) for x in sel.series]
            out[job_id] = sorted({f for f in found if f is not None})
    return out


def _handouts_by_job(s: DbSession, job_ids: Sequence[int]) -> dict[int, set[str]]:
    subjects = {audit.job_subject(i): i for i in job_ids}
    out: dict[int, set[str]] = {i: set() for i in job_ids}
    if not subjects:
        return out
    for e in lookup.audit_events_of(s, audit.HANDOUT, list(subjects)):
        out[subjects[e.subject]] |= handed_keys([(e, json.loads(e.detail or "{}"))])
    return out


def _progress(job: DiscJob) -> Safe:
    total, done = max(int(job.progress_total), 0), max(int(job.progress_done), 0)
    pct = f"{100 * done // total}%" if total else ""
    return fmt('<progress max="{max}" value="{value}"></progress> <span class="pct">{pct}</span> <span class="message">{msg}</span>',
               max=max(total, 1), value=min(done, total) if total else 0, pct=pct, msg=job.progress_message)


def _names(patients: Sequence[tuple[str, str]]) -> Safe:
    return join((fmt('<span class="pname">{}</span> <span class="pid">({})</span>', person_name(n), p) for p, n in patients), "<br>")


def _handout_state(job: DiscJob, handed: set[str]) -> str:
    if job.state not in desk_rules.HANDABLE_STATES:
        return ""
    discs = handable_discs(job)
    left = [d for d in discs if d.key not in handed]
    if not left:
        return "handed out" if discs else ""
    return f"{len(left)} of {len(discs)} disc(s) ready" if handed else f"{len(discs)} disc(s) ready"


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, view: str = "", session: Session = Depends(require(Permission.VIEW_JOBS))) -> HTMLResponse:
    ready = view == "ready"
    with web(request).db.session() as s:
        jobs = lookup.recent_jobs(s, LIST_LIMIT, state=JobState.DONE.value if ready else None)
        patients = job_patients(s, jobs)
        handed = _handouts_by_job(s, [j.id for j in jobs])
    if ready:
        jobs = [j for j in jobs if _handout_state(j, handed[j.id]).endswith("ready")]
    rows = join(
        fmt('<tr data-job="{id}"><td><a href="/jobs/{id}">{id}</a></td><td class="state state-{state}">{state}</td>'
            '<td class="progress">{progress}</td><td>{patients}</td><td>{media} &times; {copies}</td><td>{comment}</td>'
            '<td>{created} UTC<br>{by}</td><td class="handout">{handout}</td><td class="error-text">{error}</td></tr>',
            id=j.id, state=j.state, progress=_progress(j), patients=_names(patients.get(j.id, [])), media=j.media,
            copies=j.copies, comment=j.comment, created=format(j.created_at, "%Y-%m-%d %H:%M"), by=j.created_by,
            handout=_handout_state(j, handed[j.id]), error=(a.message if (a := explain(j.error)) else j.error))
        for j in jobs
    )
    title = "Discs ready to hand out" if ready else "Disc jobs"
    switch = fmt('<p><a href="/jobs">All jobs</a></p>') if ready else \
        fmt('<p><a href="/jobs?view=ready">Only discs ready to hand out</a></p>')
    body = fmt(
        '{switch}<table class="jobs" id="jobs" data-view="{view}" data-limit="{limit}"><thead><tr><th>Job</th><th>State</th>'
        '<th>Progress</th><th>Patients</th><th>Media</th><th>Comment</th><th>Created</th><th>Hand-out</th><th>Error</th>'
        '</tr></thead><tbody>{rows}</tbody></table>{empty}',
        switch=switch, view="ready" if ready else "all", limit=LIST_LIMIT, rows=rows,
        empty=fmt('<p class="empty">{}</p>', "No disc is waiting to be handed out." if ready else "No disc job yet.") if not jobs else "",
    )
    return HTMLResponse(page(title, body, session, active="/jobs?view=ready" if ready else "/jobs", scripts=["/static/jobs.js"]))


def _load(s: DbSession, job_id: int, *, lock: bool = False) -> DiscJob:
    job = lookup.disc_job(s, job_id, lock=lock)
    if job is None:
        raise HTTPException(404, f"no disc job {job_id}")
    return job


def _volume_rows(volumes: list[records.Volume]) -> Safe:
    return join(
        fmt('<tr><td>{n} of {c}</td><td><code>{fsid}</code></td><td>{size}</td><td>{patients}</td><td>{dates}</td>'
            '<td>{mods}</td><td>{desc}</td></tr>',
            n=v.number, c=v.count, fsid=v.file_set_id, size=size(v.size),
            patients=_names([(p.id, p.name) for p in v.patients]),
            dates=", ".join(dicom_date(d) for d in v.study_dates), mods=", ".join(v.modalities),
            desc="; ".join(v.descriptions))
        for v in volumes
    )


def _disc_rows(discs: list[records.Disc], handed: set[str]) -> Safe:
    return join(
        fmt('<tr><td>{v}</td><td>{c}</td><td class="{cls}">{ok}</td><td>{bin}</td><td>{handed}</td><td>{err}</td></tr>',
            v=d.volume, c=d.copy, cls="ok" if d.ok else "error-text", ok="ok" if d.ok else "rejected",
            bin=d.bin, handed="handed out" if d.key in handed else "", err=d.error or "")
        for d in discs
    )


def _handout_rows(events: Sequence[tuple[AuditEvent, dict[str, Any]]]) -> Safe:
    return join(
        fmt('<tr><td>{at} UTC</td><td>{who}</td><td class="recipient">{to}</td><td>{rel}</td><td>{idc}</td>'
            '<td>{discs}</td><td>{note}</td><td><a class="receipt" href="/desk/receipts/{no}.pdf" target="_blank">'
            'Receipt {no}</a></td></tr>', no=e.id,
            at=format(e.at, "%Y-%m-%d %H:%M"), who=e.actor, to=d.get("recipient", {}).get("name", ""),
            rel=audit.RECIPIENT_RELATIONS.get(d.get("recipient", {}).get("relation", ""), ""),
            idc="yes" if d.get("recipient", {}).get("id_checked") else "no",
            discs=", ".join(f"disc {x['volume']}/{x.get('of', '?')} copy {x['copy']}" for x in d.get("discs", [])),
            note=d.get("note", ""))
        for e, d in events
    )


def render_job(request: Request, session: Session, job_id: int, *, error: str = "", notice: str = "",
               status: int = 200) -> HTMLResponse:
    with web(request).db.session() as s:
        job = _load(s, job_id)
        patients = job_patients(s, [job])[job.id]
        events = audit.handouts(s, job_id)
        newer = desk_rules.superseded(s, [job]).get(job.id)
    volumes, discs = records.load_volumes(job.volumes), records.load_discs(job.discs)
    problems, excluded = records.load_problems(job.problems), exclusions(job.exclude)
    selection = records.Selection.loads(job.selection).to_json()
    handed = handed_keys(events)
    state = JobState(job.state)
    ctx = web(request)
    actions = job_actions.actions(session, job, ctx.robots().names() if ctx.robots is not None else [""])
    if may(session.user, Permission.MANAGE_JOBS):
        if state is JobState.FAILED:
            actions.append(post_button(session, f"/jobs/{job.id}/resubmit", "Resubmit (burn again)"))
            if problems:
                actions.append(fmt('<form method="post" action="/jobs/{}/resubmit" class="inline">{}'
                                   '<input type="hidden" name="exclude_problems" value="1"><button type="submit">'
                                   'Resubmit without the {} object(s) listed</button></form>',
                                   job.id, csrf_field(session), len(problems)))
    left = [d for d in handable_discs(job) if d.key not in handed]
    if may(session.user, Permission.HAND_OUT) and left:
        actions.append(fmt('<a class="button" href="/jobs/{}/handout">Hand out disc(s)</a>', job.id))
    sel_text = ", ".join(f"{len(v)} {k}" for k, v in selection.items() if v)
    advice = explain(job.error)
    if job.cancel_requested and state is JobState.BURNING:
        notice = notice or "Cancelling: the robot starts no further disc; a disc in a drive is finished."
    body = fmt(
        '{msg}{superseded}<section id="live" data-job="{id}" data-state="{state}">'
        '<p>State: <b class="state state-{state}">{state}</b></p><p class="progress">{progress}</p>'
        '<p class="error-text" id="job-error">{error}</p>{advice}</section>'
        '<div class="actions">{actions}</div>'
        '<table class="facts"><tr><th>Patients</th><td>{patients}</td></tr>'
        '<tr><th>Selection</th><td>{sel}</td></tr><tr><th>Media</th><td>{media} &times; {copies}{profile}</td></tr>'
        '<tr><th>Comment</th><td>{comment}</td></tr><tr><th>Created</th><td>{created} UTC by {by}</td></tr>'
        '<tr><th>Updated</th><td>{updated} UTC</td></tr></table>'
        '{problems}{excluded}{volumes}{downloads}{discs}{handouts}',
        msg=messages(error, notice), id=job.id, state=job.state, progress=_progress(job),
        error=advice.message if advice else job.error,
        advice=fmt('<p class="next-step"><b>What to do:</b> {}</p><p class="hint">The robot said: <code>{}</code></p>',
                   advice.next_step, job.error) if advice else "",
        superseded=fmt('<p class="superseded warning">Superseded: job <a href="/jobs/{n}">{n}</a> burned these images '
                       'again, complete. Hand out its discs instead.</p>', n=newer) if newer else "",
        actions=join(actions), patients=_names(patients), sel=sel_text, media=job.media, copies=job.copies,
        profile=(f", {job.profile}" if job.profile else "") + (", compressed losslessly" if job.compress else ""),
        comment=job.comment, downloads=job_actions.downloads(session, job),
        problems=fmt('<h2>Cannot go on the medium</h2><table class="problems"><thead><tr><th>Object</th>'
                     '<th>SOP Instance UID</th><th>Why</th></tr></thead><tbody>{}</tbody></table>',
                     join(fmt("<tr><td>{}</td><td>{}</td><td>{}</td></tr>", p.what, p.uid, p.reason)
                          for p in problems)) if problems else "",
        excluded=fmt('<h2>Left out</h2><ul class="excluded">{}</ul>',
                     join(fmt("<li>{} {}</li>", uid, f"({why})" if why else "") for uid, why in excluded.items()))
        if excluded else "",
        created=format(job.created_at, "%Y-%m-%d %H:%M:%S"), by=job.created_by, updated=format(job.updated_at, "%Y-%m-%d %H:%M:%S"),
        volumes=fmt('<h2>Volumes</h2><table><thead><tr><th>Disc</th><th>File-set ID</th><th>Size</th><th>Patients</th>'
                    '<th>Study dates</th><th>Modalities</th><th>Studies</th></tr></thead><tbody>{}</tbody></table>',
                    _volume_rows(volumes)) if volumes else "",
        discs=fmt('<h2>Discs</h2><table><thead><tr><th>Disc</th><th>Copy</th><th>Result</th><th>Bin</th><th>Hand-out</th>'
                  '<th>Error</th></tr></thead><tbody>{}</tbody></table>', _disc_rows(discs, handed)) if discs else "",
        handouts=fmt('<h2>Handed out</h2><table class="handouts"><thead><tr><th>When</th><th>By</th><th>To</th><th>As</th>'
                     '<th>ID checked</th><th>Discs</th><th>Note</th><th>Receipt</th></tr></thead><tbody>{}</tbody></table>',
                     _handout_rows(events)) if events else "",
    )
    return HTMLResponse(page(f"Disc job {job.id}", body, session, active="/jobs", scripts=["/static/jobs.js"]),
                        status_code=status)


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: RowId, created: str = "", handed: str = "", cancelling: str = "",
             session: Session = Depends(require(Permission.VIEW_JOBS))) -> HTMLResponse:
    notice = "The disc job is queued." if created else "The hand-out is recorded." if handed else \
        "Cancel asked: the robot starts no further disc." if cancelling else ""
    return render_job(request, session, job_id, notice=notice)


@router.post("/jobs/{job_id}/resubmit", response_class=HTMLResponse)
def resubmit_job(request: Request, job_id: RowId, p: Posted = Depends(posted(Permission.MANAGE_JOBS))) -> Response:
    db = web(request).db
    with db.session() as s:
        _load(s, job_id)
    leave_out = p.form.get("exclude_problems") == "1"
    try:
        resubmit(db, job_id, exclude_problems=leave_out)
    except InvalidTransition as exc:
        return render_job(request, p.session, job_id, error=f"Cannot resubmit: {exc}. Only a failed job can be.", status=409)
    with db.session() as s:
        audit.record(s, p.session.user.username, "resubmit", audit.job_subject(job_id), {"exclude_problems": leave_out})
    return RedirectResponse(f"/jobs/{job_id}", status_code=303)


@dataclass
class HandoutForm:
    discs: list[str]
    recipient: str = ""
    relation: str = ""
    id_checked: str = ""
    note: str = ""
    override: str = ""


def render_handout(request: Request, session: Session, job_id: int, form: HandoutForm | None = None, *,
                   error: str = "", status: int = 200) -> HTMLResponse:
    with web(request).db.session() as s:
        job = _load(s, job_id)
        patients = job_patients(s, [job])[job.id]
        handed = handed_keys(audit.handouts(s, job_id))
        newer = desk_rules.superseded(s, [job]).get(job.id)
    discs = handable_discs(job)
    left = [d for d in discs if d.key not in handed]
    if not left:
        why = "every disc of this job was handed out already" if discs else \
            f"the job is {job.state} and has no good disc"
        return render_job(request, session, job_id, error=error or f"Nothing to hand out: {why}.",
                          status=409 if status == 200 else status)
    form = form or HandoutForm([d.key for d in left])
    disc_boxes = join(
        fmt('<li><label><input type="checkbox" name="disc" value="{key}"{chk}> disc {v} of {c}, copy {copy} '
            '<code>{fsid}</code></label></li>', key=d.key, chk=Safe(" checked") if d.key in form.discs else "",
            v=d.volume, c=d.count, copy=d.copy, fsid=d.file_set_id)
        for d in left
    )
    relations = {"": "choose ...", **audit.RECIPIENT_RELATIONS}
    body = fmt(
        '{msg}<p>Discs of job <a href="/jobs/{id}">{id}</a> with the images of {patients}.</p>'
        '<form method="post" action="/jobs/{id}/handout" class="stack">{csrf}'
        '<fieldset><legend>Discs handed over</legend><ul class="discs">{boxes}</ul></fieldset>'
        '<label>Handed to (name) <input name="recipient" maxlength="{maxr}" value="{recipient}" required></label>'
        '<label>Who is this person <select name="relation" required>{relations}</select></label>'
        '<fieldset><legend>Identity document checked</legend>'
        '<label><input type="radio" name="id_checked" value="yes"{yes} required> yes</label>'
        '<label><input type="radio" name="id_checked" value="no"{no}> no</label></fieldset>'
        '<label>Note <input name="note" maxlength="500" value="{note}"></label>{override}'
        '<button type="submit">Record hand-out</button></form>',
        msg=messages(error), id=job.id, patients=_names(patients), csrf=csrf_field(session), boxes=disc_boxes,
        maxr=MAX_RECIPIENT, recipient=form.recipient, relations=options(relations, form.relation),
        yes=Safe(" checked") if form.id_checked == "yes" else "", no=Safe(" checked") if form.id_checked == "no" else "",
        note=form.note,
        override=fmt('<fieldset class="override warning"><legend>Superseded by job <a href="/jobs/{n}">{n}</a></legend>'
                     '<p>Job {n} burned these images again, complete. Hand out its discs instead; hand out these '
                     'only for a reason you write here (audited).</p><label>Reason to hand out a superseded disc '
                     '<input name="override" maxlength="500" value="{v}"></label></fieldset>', n=newer, v=form.override)
        if newer else "",
    )
    return HTMLResponse(page(f"Hand out job {job.id}", body, session, active="/jobs?view=ready"), status_code=status)


@router.get("/jobs/{job_id}/handout", response_class=HTMLResponse)
def handout_form(request: Request, job_id: RowId, session: Session = Depends(require(Permission.HAND_OUT))) -> HTMLResponse:
    return render_handout(request, session, job_id)


@router.post("/jobs/{job_id}/handout", response_class=HTMLResponse)
def handout(request: Request, job_id: RowId, p: Posted = Depends(posted(Permission.HAND_OUT))) -> Response:
    f = p.form
    form = HandoutForm(f.getlist("disc"), f.get("recipient").strip(), f.get("relation"), f.get("id_checked"), f.get("note").strip(),
                       f.get("override").strip())

    def refuse(message: str, status: int = 400) -> HTMLResponse:
        return render_handout(request, p.session, job_id, form, error=message, status=status)

    if not form.discs:
        return refuse("Tick the disc(s) you hand over.")
    if not form.recipient:
        return refuse("Write the name of the person who takes the disc(s).")
    if len(form.recipient) > MAX_RECIPIENT:
        return refuse(f"The name has more than {MAX_RECIPIENT} characters.")
    if form.relation not in audit.RECIPIENT_RELATIONS:
        return refuse("Choose who the person is (patient, relative, referring physician ...).")
    if form.id_checked not in ("yes", "no"):
        return refuse("Say whether you checked an identity document (yes or no).")
    problem: tuple[str, int] | None = None
    with web(request).db.session() as s:
        job = _load(s, job_id, lock=True)  # two desks handing out the same disc: one waits, then sees it handed
        discs = {d.key: d for d in handable_discs(job)}
        handed = handed_keys(audit.handouts(s, job_id))
        unknown = [k for k in form.discs if k not in discs]
        again = [k for k in form.discs if k in handed]
        newer = desk_rules.superseded(s, [job]).get(job.id)
        if job.state not in desk_rules.HANDABLE_STATES:
            problem = (f"The job is {job.state}; only discs of a finished job can be handed out.", 409)
        elif newer and not form.override:
            problem = (f"These discs are superseded by job {newer}, which burned the images again, complete. "
                       "Hand out its discs, or write why you hand out these.", 409)
        elif unknown:
            problem = (f"This job has no disc {unknown[0][:20]!r} that could be handed out.", 400)
        elif again:
            problem = (f"Disc {again[0]} (volume-copy) was handed out already; see the job's hand-outs.", 409)
        else:
            patients = [{"id": pid, "name": name} for pid, name in job_patients(s, [job])[job.id]]
            audit.record_handout(s, p.session.user.username, job_id, [discs[k].as_detail() for k in form.discs],
                                 recipient=form.recipient, relation=form.relation, id_checked=form.id_checked == "yes",
                                 patients=patients, note=form.note,
                                 override=f"superseded by job {newer}: {form.override}" if newer else "")
    if problem is not None:  # answered after the transaction: a page of its own reads the job again
        return refuse(*problem)
    return RedirectResponse(f"/jobs/{job_id}?handed=1", status_code=303)

