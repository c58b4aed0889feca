"""The burn preview and the burn itself: what the ticked studies will make (a disc set per
patient, the medium, the number of discs, the label as it will print, warnings) and, once a
person confirmed what needs confirming, the disc jobs.

A disc goes to one person: studies of several patients make one job per patient unless the
person chooses one disc for all of them, which the preview names patient by patient and asks
to confirm (``together`` and ``together_ok``). Warnings (many copies, a medium much larger
than the data) need ``confirm``; a POST to ``/burn`` without them gets the preview back."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher.archive.lookup import picks_by_patient
from publisher.jobs.disc_job import create_job
from publisher.jobs.labels import label_content
from publisher.jobs.selection import EmptySelection, Selection
from publisher.labels import LabelDoesNotFit, load_template, render_image, render_pdf
from publisher.web.auth import Permission, Session
from publisher.web.burn_plan import BurnPlan, DiscSet, form_error, plan_burn
from publisher.web.context import Form, Posted, posted, require, web
from publisher.web.render import Safe, csrf_field, fmt, join, messages, page, person_name, size
from publisher.web.studies import MEDIA, BurnForm, render_studies, search_of_form

router = APIRouter()


def _burn_form(f: Form) -> BurnForm:
    return BurnForm(f.getlist("study"), f.getlist("series"), f.get("media", "auto"), f.get("copies", "1").strip(),
                    f.get("comment").strip(), f.get("compress") == "1")


def _hidden(form: BurnForm, f: Form) -> Safe:
    """The burn form and the search it came from, carried by the preview's buttons."""
    pairs = [("study", u) for u in form.studies] + [("series", u) for u in form.series] + [
        ("media", form.media), ("copies", form.copies), ("comment", form.comment)]
    pairs += [("compress", "1")] if form.compress else []
    pairs += [(k, f.get(k)) for k in f.fields if k.startswith("q_")]
    return join(fmt('<input type="hidden" name="{}" value="{}">', k, v) for k, v in pairs)


def _label_url(form: BurnForm, s: DiscSet) -> str:
    query = [("study", u) for u in s.studies] + [("series", u) for u in s.series] + [("comment", form.comment)]
    return "/burn/label.png?" + urlencode(query)


def _set_rows(form: BurnForm, plan: BurnPlan) -> Safe:
    rows = []
    for k, s in enumerate(plan.sets, 1):
        who = join((fmt('<li><span class="pname">{}</span> <span class="pid">{}</span></li>',
                        person_name(p.name), p.patient_id) for p in s.picks))
        rows.append(fmt(
            '<tr class="discset"><td>{k}</td><td><ul class="who">{who}</ul></td><td>{studies}</td><td>{inst}</td>'
            '<td>{size}</td><td class="media">{media}</td><td class="volumes">{vols}</td><td>{total}</td>'
            '<td><img class="label-preview" src="{label}" alt="label of disc set {k}" width="240" height="240">'
            '<br><a href="{pdf}">PDF proof</a></td></tr>',
            k=k, who=who, studies=sum(len(p.studies) for p in s.picks) + sum(len(p.series) for p in s.picks),
            inst=sum(p.instances for p in s.picks), size=size(s.size), media=MEDIA[s.media.value], vols=s.volumes,
            total=s.volumes * plan.copies, label=_label_url(form, s),
            pdf=_label_url(form, s).replace("label.png", "label.pdf", 1)))
    return join(rows)


def render_preview(request: Request, session: Session, f: Form, form: BurnForm, plan: BurnPlan, *,
                   error: str = "", status: int = 200) -> HTMLResponse:
    n_patients = len(plan.patients)
    hidden = _hidden(form, f)
    intro = fmt('<p class="summary">{np} patient(s), {nsets} disc job(s), {discs} disc(s) in all ({copies} '
                'copies of each).</p>', np=n_patients, nsets=len(plan.sets), discs=plan.discs, copies=plan.copies)
    table = fmt('<table class="preview"><thead><tr><th>Job</th><th>Patient(s)</th><th>Studies / series</th>'
                '<th>Instances</th><th>Size</th><th>Medium</th><th>Discs</th><th>With copies</th><th>Label</th></tr>'
                '</thead><tbody>{}</tbody></table>', _set_rows(form, plan))
    warn = join(fmt('<li>{}</li>', w) for w in plan.warnings)
    confirm = fmt('<p class="warning" role="alert"><strong>Please check:</strong></p><ul class="warnings">{}</ul>'
                  '<label class="confirm"><input type="checkbox" name="confirm" value="1"> I have checked the warnings '
                  'and want these discs</label>', warn) if plan.warnings else Safe("")
    together = Safe("")
    names = join((fmt("<li>{} ({})</li>", person_name(p.name), p.patient_id) for p in plan.patients))
    if plan.together and n_patients > 1:
        together = fmt('<input type="hidden" name="together" value="1"><p class="warning" role="alert">'
                       '<strong>One disc for {n} patients.</strong> Whoever receives it sees the data of all of them:</p>'
                       '<ul class="together">{names}</ul><label class="confirm"><input type="checkbox" name="together_ok" '
                       'value="1"> I confirm that these {n} patients go on one disc</label>', n=n_patients, names=names)
    choice = Safe("")
    if n_patients > 1:
        action = ("One disc set per patient instead", "") if plan.together else \
            (f"Put all {n_patients} patients on one disc…", '<input type="hidden" name="together" value="1">')
        choice = fmt('<form method="post" action="/burn/preview" class="inline together-choice">{csrf}{hidden}{extra}'
                     '<button type="submit" class="secondary">{label}</button></form>',
                     csrf=csrf_field(session), hidden=hidden, extra=Safe(action[1]), label=action[0])
    body = fmt(
        '{msg}{intro}{table}<form method="post" action="/burn" class="stack burn-confirm">{csrf}{hidden}{together}'
        '{confirm}<button type="submit">Burn {discs} disc(s)</button> <a href="/studies?{back}">Back to the studies</a>'
        '</form>{choice}',
        msg=messages(error), intro=intro, table=table, csrf=csrf_field(session), hidden=hidden, together=together,
        confirm=confirm, discs=plan.discs, back=urlencode(search_of_form({k: f.get(k) for k in f.fields}).values),
        choice=choice)
    return HTMLResponse(page("Burn preview", body, session, active="/studies"), status_code=status)


def _prepare(request: Request, p: Posted) -> tuple[BurnForm, BurnPlan | None, HTMLResponse | None]:
    """The form and its plan, or the studies page with what is wrong."""
    f = p.form
    form = _burn_form(f)
    search = search_of_form({k: f.get(k) for k in f.fields})
    problem = form_error(form)
    if not problem:
        picks = picks_by_patient(web(request).db, form.studies, form.series)
        if not picks:
            problem = "Nothing to burn: no stored instance matches the selection. The studies may have been deleted; search again."
        else:
            return form, plan_burn(picks, form, together=f.get("together") == "1"), None
    return form, None, render_studies(request, p.session, search, form=form, error=problem, status=400)


@router.post("/burn/preview", response_class=HTMLResponse)
def preview(request: Request, p: Posted = Depends(posted(Permission.BURN))) -> Response:
    form, plan, refused = _prepare(request, p)
    if plan is None:
        assert refused is not None
        return refused
    return render_preview(request, p.session, p.form, form, plan)


@router.post("/burn", response_class=HTMLResponse)
def burn(request: Request, p: Posted = Depends(posted(Permission.BURN))) -> Response:
    form, plan, refused = _prepare(request, p)
    if plan is None:
        assert refused is not None
        return refused
    if plan.together and len(plan.patients) > 1 and p.form.get("together_ok") != "1":
        return render_preview(request, p.session, p.form, form, plan, status=400, error=(
            f"Tick the confirmation to put {len(plan.patients)} patients on one disc, or burn one disc set per patient."))
    if plan.warnings and p.form.get("confirm") != "1":
        return render_preview(request, p.session, p.form, form, plan, status=400,
                              error="Tick the confirmation below the warnings to burn these discs.")
    ids = []
    for s in plan.sets:
        try:
            ids.append(create_job(web(request).db, Selection(studies=s.studies, series=s.series), media=s.media,
                                  copies=plan.copies, comment=form.comment, created_by=p.session.user.username,
                                  compress=form.compress))
        except EmptySelection as exc:
            return render_studies(request, p.session, search_of_form({k: p.form.get(k) for k in p.form.fields}),
                                  form=form, status=400,
                                  error=f"Nothing to burn: {exc}. The studies may have been deleted; search again.")
    if len(ids) == 1:
        return RedirectResponse(f"/jobs/{ids[0]}?created=1", status_code=303)
    return RedirectResponse("/jobs?created=" + ",".join(map(str, ids)), status_code=303)


@router.get("/burn/label.{kind}")
def label_preview(request: Request, kind: str, session: Session = Depends(require(Permission.BURN))) -> Response:
    """The label of the first disc of the studies and series named, as the robot will print it
    (``png``) or as a PDF proof with the disc's outline (``pdf``)."""
    if kind not in ("png", "pdf"):
        return Response("label.png or label.pdf", status_code=404, media_type="text/plain")
    q = request.query_params
    studies, series = q.getlist("study")[:500], q.getlist("series")[:500]
    picks = picks_by_patient(web(request).db, studies, series)
    form = BurnForm(studies, series, comment=q.get("comment", "")[:256])
    if not picks:
        return Response("no such studies", status_code=404, media_type="text/plain")
    disc_set = plan_burn(picks, form, together=True).sets[0]
    content = label_content(disc_set.summary(), comment=form.comment, institution="")
    try:
        if kind == "pdf":
            with tempfile.TemporaryDirectory() as tmp:
                data = render_pdf(content, load_template("default"), Path(tmp) / "label.pdf", guides=True).read_bytes()
            return Response(data, media_type="application/pdf", headers={"Cache-Control": "private, no-store"})
        image = render_image(content, load_template("default"), 150)
    except LabelDoesNotFit as exc:
        return Response(f"the label does not fit: {exc}", status_code=422, media_type="text/plain")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Response(out.getvalue(), media_type="image/png", headers={"Cache-Control": "private, no-store"})
