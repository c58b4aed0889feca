"""What a person does with a disc job besides looking at it: cancel (queued, mastered, failed,
or burning: the robot stops starting discs), burn again (from the kept image, or re-mastered if
it was purged), reprint the label, download the ISO image and the label PDF. Every action is
audited by the module of :mod:`publisher.jobs` that writes it (docs/architecture.md, section 7)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from publisher.archive import lookup
from publisher.db.models import DiscJob
from publisher.jobs import again
from publisher.jobs.burn_progress import request_cancel
from publisher.jobs.records import load_volumes
from publisher.jobs.state import InvalidTransition, JobState
from publisher.web.auth import Permission, Session, may
from publisher.web.context import Posted, RowId, posted, require, web
from publisher.web.render import Safe, csrf_field, fmt, join, post_button

router = APIRouter()

#: states a person may cancel from; a burning job stops at the robot
CANCELLABLE = (JobState.QUEUED, JobState.MASTERED, JobState.FAILED, JobState.BURNING)


def actions(session: Session, job: DiscJob, robots: list[str]) -> list[Safe]:
    """The buttons of a job's page that only work in its present state."""
    out: list[Safe] = []
    state = JobState(job.state)
    if not may(session.user, Permission.MANAGE_JOBS):
        return out
    if state in CANCELLABLE and not job.cancel_requested:
        burned = len(load_volumes(job.volumes)) * job.copies
        question = (f"Cancel this disc job? Discs not started yet ({burned} asked) will not be burned; "
                    "a disc already in a drive is finished by the robot." if state is JobState.BURNING
                    else "Cancel this disc job?")
        out.append(post_button(session, f"/jobs/{job.id}/cancel", "Cancel job", css="danger", confirm=question))
    if state in again.AGAIN_FROM:
        choose = fmt(' <label>on <select name="robot">{}</select></label>', join(
            fmt('<option value="{}"{}>{}</option>', r, Safe(" selected") if r == job.robot else "", r or "default robot")
            for r in robots)) if len(robots) > 1 else Safe("")
        out.append(fmt('<form method="post" action="/jobs/{id}/again" class="inline" id="again">{csrf}'
                       '<label>Copies <input type="number" name="copies" min="1" max="1000" value="{copies}"></label>{choose}'
                       '<button type="submit" data-confirm="Burn this job again?">Burn again</button></form>',
                       id=job.id, csrf=csrf_field(session), copies=job.copies, choose=choose))
    return out


def downloads(session: Session, job: DiscJob) -> Safe:
    """Per volume: label PDF (reprint) and, for someone who may burn, the ISO image."""
    volumes = load_volumes(job.volumes)
    if not volumes:
        return Safe("")
    iso = may(session.user, Permission.MANAGE_JOBS)
    rows = join(
        fmt('<li>Disc {n} of {c}: <a class="label-pdf" href="/jobs/{id}/volumes/{n}/label.pdf" target="_blank">'
            'Reprint label (PDF)</a>{iso}</li>', n=v.number, c=v.count, id=job.id,
            iso=fmt(' &middot; <a class="iso" href="/jobs/{}/volumes/{}/image.iso">Download ISO image</a>', job.id, v.number)
            if iso and v.image.lower().endswith(".iso") else "")
        for v in volumes)
    return fmt('<h2>Label and image</h2><ul class="downloads">{}</ul>', rows)


@router.post("/jobs/{job_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, job_id: RowId, p: Posted = Depends(posted(Permission.MANAGE_JOBS))) -> Response:
    from publisher.web.jobs import render_job

    try:
        outcome = request_cancel(web(request).db, job_id, p.session.user.username)
    except KeyError:
        raise HTTPException(404, f"no disc job {job_id}") from None
    except InvalidTransition as exc:
        return render_job(request, p.session, job_id, error=f"Cannot cancel: {exc}.", status=409)
    return RedirectResponse(f"/jobs/{job_id}?cancelling=1" if outcome.at_robot else f"/jobs/{job_id}", status_code=303)


@router.post("/jobs/{job_id}/again", response_class=HTMLResponse)
def burn_again(request: Request, job_id: RowId, p: Posted = Depends(posted(Permission.MANAGE_JOBS))) -> Response:
    from publisher.web.jobs import render_job

    ctx = web(request)
    copies_text = p.form.get("copies").strip() or "0"
    robot = p.form.get("robot")
    known = ctx.robots().names() if ctx.robots is not None else [""]
    if not copies_text.isdigit() or not 1 <= int(copies_text) <= 1000:
        return render_job(request, p.session, job_id, error="Copies: a number from 1 to 1000.", status=400)
    if robot not in known:
        return render_job(request, p.session, job_id, error=f"No robot {robot[:40]!r} is configured.", status=400)
    try:
        new_id = again.burn_again(ctx.db, job_id, p.session.user.username, copies=int(copies_text),
                                  robot=robot if "robot" in p.form.fields else None)
    except KeyError:
        raise HTTPException(404, f"no disc job {job_id}") from None
    except ValueError as exc:
        return render_job(request, p.session, job_id, error=f"Cannot burn again: {exc}.", status=409)
    return RedirectResponse(f"/jobs/{new_id}?created=1", status_code=303)


def _jobs_dir(request: Request, job_id: int) -> Path:
    """Where a job's files live (a label rendered again goes there too)."""
    data = web(request).data_dir
    return data / "jobs" / f"job{job_id:06d}" if data is not None else Path(".")


@router.get("/jobs/{job_id}/volumes/{volume}/label.pdf")
def label(request: Request, job_id: RowId, volume: RowId, session: Session = Depends(require(Permission.VIEW_JOBS))) -> Response:
    ctx = web(request)
    with ctx.db.session() as s:
        if lookup.disc_job(s, job_id) is None:
            raise HTTPException(404, f"no disc job {job_id}")
    try:
        path = again.label_pdf(ctx.db, job_id, volume, out_dir=_jobs_dir(request, job_id), institution="",
                               actor=session.user.username)
    except KeyError as exc:
        raise HTTPException(404, str(exc)) from None
    return FileResponse(path, media_type="application/pdf", filename=f"label-job{job_id}-disc{volume}.pdf",
                        content_disposition_type="inline")


@router.get("/jobs/{job_id}/volumes/{volume}/image.iso")
def image(request: Request, job_id: RowId, volume: RowId, session: Session = Depends(require(Permission.MANAGE_JOBS))) -> Response:
    try:
        path, fsid = again.image_file(web(request).db, job_id, volume, actor=session.user.username)
    except KeyError as exc:
        raise HTTPException(404, str(exc)) from None
    return FileResponse(path, media_type="application/octet-stream", filename=f"{fsid or f'job{job_id}'}.iso")
