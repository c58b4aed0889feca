"""The study browser (search the index by patient name, patient ID, date, accession number) and
the burn form that turns a selection of studies and series into a queued disc job."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from publisher.archive.lookup import SeriesSummary, series_of_studies
from publisher.archive.query.keys import Level, Query, QueryError
from publisher.archive.query.search import search
from publisher.jobs.disc_job import ROBOT_MEDIA, create_job
from publisher.jobs.selection import EmptySelection, Selection
from publisher.web.auth import Permission, Session
from publisher.web.context import Posted, posted, require, web
from publisher.web.render import Safe, csrf_field, dicom_date, esc, fmt, join, messages, options, page, person_name

router = APIRouter()

#: How many studies a search shows; a person narrows the search for more.
MAX_STUDIES = 200
MAX_COPIES = 50
MAX_COMMENT = 256
_MEDIA_NAMES = {"cd": "CD-R (700 MB)", "dvd": "DVD-R (4.7 GB)", "dvd-dl": "DVD-R DL (8.5 GB)",
                "bd": "BD-R (25 GB)", "bd-dl": "BD-R DL (50 GB)"}
#: The media a robot burns, as the burn form offers them.
MEDIA: dict[str, str] = {m.value: _MEDIA_NAMES.get(m.value, m.value) for m in ROBOT_MEDIA}
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


class SearchError(ValueError):
    pass


@dataclass
class StudySearch:
    """The search fields as typed (kept to show them again)."""

    name: str = ""
    patient_id: str = ""
    date_from: str = ""
    date_to: str = ""
    accession: str = ""

    @classmethod
    def of(cls, values: Mapping[str, str]) -> StudySearch:
        return cls(*(values.get(k, "").strip()[:128] for k in ("name", "pid", "from", "to", "accession")))

    def fields(self) -> dict[str, str]:
        return {"name": self.name, "pid": self.patient_id, "from": self.date_from, "to": self.date_to,
                "accession": self.accession}

    def matches(self) -> dict[str, str]:
        """C-FIND style matching keys (PS3.4 C.2.2.2) for :func:`publisher.archive.query.search`."""
        out: dict[str, str] = {}
        if self.name:
            pattern = re.sub(r"\s*,\s*", "^", self.name)  # "Müller, Jürgen" is written Müller^Jürgen
            out["PatientName"] = pattern if any(c in pattern for c in "*?") else pattern + "*"
        if self.patient_id:
            out["PatientID"] = self.patient_id
        if self.accession:
            out["AccessionNumber"] = self.accession
        start, end = _date(self.date_from, "from"), _date(self.date_to, "to")
        if start and end and start > end:
            raise SearchError(f"the date range ends ({dicom_date(end)}) before it starts ({dicom_date(start)})")
        if start or end:
            out["StudyDate"] = f"{start}-{end}" if start != end else start
        return out


def _date(text: str, which: str) -> str:
    if not text:
        return ""
    m = _DATE.fullmatch(text)
    if m is None:
        raise SearchError(f"date {which} {text!r}: write it as YYYY-MM-DD, e.g. 2026-01-31")
    return "".join(m.groups())


@dataclass
class BurnForm:
    studies: list[str] = field(default_factory=list)
    series: list[str] = field(default_factory=list)
    media: str = "cd"
    copies: str = "1"
    comment: str = ""
    compress: bool = False


def _studies(db: Any, s: StudySearch) -> tuple[list[dict[str, Any]], bool]:
    query = Query(Level.STUDY, s.matches(), returns=("ModalitiesInStudy", "NumberOfStudyRelatedSeries",
                                                      "NumberOfStudyRelatedInstances"))
    rows: list[dict[str, Any]] = []
    for row in search(db, query):
        if len(rows) == MAX_STUDIES:
            return rows, True
        rows.append(row)
    return rows, False


def _search_form(s: StudySearch) -> Safe:
    return fmt(
        '<form method="get" action="/studies" class="search">'
        '<label>Patient name <input name="name" value="{name}" placeholder="müller* or Müller, J*"></label>'
        '<label>Patient ID <input name="pid" value="{pid}"></label>'
        '<label>Study date from <input name="from" type="date" value="{frm}"></label>'
        '<label>to <input name="to" type="date" value="{to}"></label>'
        '<label>Accession <input name="accession" value="{acc}"></label>'
        '<button type="submit">Search</button></form>'
        '<p class="hint">Names: family name first; <code>*</code> stands for any characters, <code>?</code> for one; '
        'a name without wildcards finds every name that starts with it. Upper and lower case are the same.</p>',
        name=s.name, pid=s.patient_id, frm=s.date_from, to=s.date_to, acc=s.accession,
    )


def _checked(on: bool) -> Safe:
    return Safe(" checked") if on else Safe("")


def _study_rows(rows: list[dict[str, Any]], series: dict[int, list[SeriesSummary]], form: BurnForm) -> Safe:
    out = []
    for r in rows:
        uid = r["StudyInstanceUID"]
        series_items = join(
            fmt('<li><label><input type="checkbox" name="series" value="{uid}"{chk}> {mod} #{num} {desc} '
                '<span class="count">({n} instances)</span></label></li>',
                uid=se.series_instance_uid, chk=_checked(se.series_instance_uid in form.series), mod=se.modality,
                num="" if se.number is None else se.number, desc=se.description, n=se.instances)
            for se in series.get(int(r["study_pk"]), [])
        )
        out.append(fmt(
            '<tr data-study="{uid}"><td><input type="checkbox" name="study" value="{uid}" aria-label="select study"{chk}></td>'
            '<td class="pname">{name}</td><td>{pid}</td><td>{birth}</td><td>{date}</td><td>{acc}</td>'
            '<td>{desc}<details><summary>{nser} series, {ninst} instances</summary><ul class="series">{series}</ul></details></td>'
            '<td>{mods}</td></tr>',
            uid=uid, chk=_checked(uid in form.studies), name=person_name(r["PatientName"] or ""), pid=r["PatientID"],
            birth=dicom_date(r["PatientBirthDate"] or ""), date=dicom_date(r["StudyDate"] or ""),
            acc=r["AccessionNumber"], desc=r["StudyDescription"], nser=r.get("NumberOfStudyRelatedSeries", 0),
            ninst=r.get("NumberOfStudyRelatedInstances", 0), series=series_items,
            mods=", ".join(r.get("ModalitiesInStudy") or []),
        ))
    return join(out)


def render_studies(request: Request, session: Session, s: StudySearch, *, form: BurnForm | None = None,
                   error: str = "", status: int = 200) -> HTMLResponse:
    db = web(request).db
    form = form or BurnForm()
    try:
        rows, more = _studies(db, s)
    except (SearchError, QueryError) as exc:
        rows, more, error = [], False, error or str(exc)
        status = 400 if status == 200 else status
    series = series_of_studies(db, (int(r["study_pk"]) for r in rows))
    hidden = join(fmt('<input type="hidden" name="q_{}" value="{}">', k, v) for k, v in s.fields().items())
    if rows:
        table = fmt(
            '<form method="post" action="/burn" class="burn">{csrf}{hidden}'
            '<table class="studies"><thead><tr><th></th><th>Patient</th><th>Patient ID</th><th>Born</th><th>Study date</th>'
            '<th>Accession</th><th>Description and series</th><th>Modalities</th></tr></thead><tbody>{rows}</tbody></table>{more}'
            '<fieldset><legend>Burn the selected studies and series</legend>'
            '<label>Media <select name="media">{media}</select></label>'
            '<label>Copies <input name="copies" type="number" min="1" max="{maxc}" value="{copies}" required></label>'
            '<label class="wide">Comment on the label <input name="comment" maxlength="{maxm}" value="{comment}"></label>'
            '<label><input type="checkbox" name="compress" value="1"{compress}> Compress images losslessly where the '
            'disc allows it (fewer DVDs / BDs; pixels unchanged)</label>'
            '<button type="submit">Burn</button></fieldset></form>',
            csrf=csrf_field(session), hidden=hidden, rows=_study_rows(rows, series, form),
            more=fmt('<p class="hint">Only the first {} studies are shown: narrow the search.</p>', MAX_STUDIES) if more else "",
            media=options(MEDIA, form.media), maxc=MAX_COPIES, copies=form.copies, maxm=MAX_COMMENT, comment=form.comment,
            compress=_checked(form.compress),
        )
    else:
        table = Safe("") if error else esc("No study matches the search.")
        table = fmt('<p class="empty">{}</p>', table) if table else table
    body = fmt("{search}{msg}{table}", search=_search_form(s), msg=messages(error), table=table)
    return HTMLResponse(page("Studies", body, session, active="/studies"), status_code=status)


@router.get("/studies", response_class=HTMLResponse)
def studies_page(request: Request, session: Session = Depends(require(Permission.BROWSE))) -> HTMLResponse:
    return render_studies(request, session, StudySearch.of(request.query_params))


@router.post("/burn", response_class=HTMLResponse)
def burn(request: Request, p: Posted = Depends(posted(Permission.BURN))) -> Response:
    f = p.form
    search_fields = StudySearch.of({k[2:]: v for k, v in ((k, f.get(k)) for k in f.fields) if k.startswith("q_")})
    form = BurnForm(f.getlist("study"), f.getlist("series"), f.get("media", "cd"), f.get("copies", "1").strip(),
                    f.get("comment").strip(), f.get("compress") == "1")

    def refuse(message: str, status: int = 400) -> HTMLResponse:
        return render_studies(request, p.session, search_fields, form=form, error=message, status=status)

    if not form.studies and not form.series:
        return refuse("Select at least one study or series to burn.")
    bad = [u for u in form.studies + form.series if len(u) > 64 or not _UID.fullmatch(u)]
    if bad:
        return refuse(f"Not a DICOM UID: {bad[0][:80]!r}.")
    if form.media not in MEDIA:
        return refuse(f"Unknown media {form.media[:20]!r}: choose one of {', '.join(MEDIA.values())}.")
    if not form.copies.isdigit() or not 1 <= int(form.copies) <= MAX_COPIES:
        return refuse(f"Copies must be a whole number from 1 to {MAX_COPIES}, not {form.copies[:20]!r}.")
    if len(form.comment) > MAX_COMMENT:
        return refuse(f"The comment has {len(form.comment)} characters; the label takes at most {MAX_COMMENT}.")
    try:
        job_id = create_job(web(request).db, Selection(studies=form.studies, series=form.series), media=form.media,
                            copies=int(form.copies), comment=form.comment, created_by=p.session.user.username,
                            compress=form.compress)
    except EmptySelection as exc:
        return refuse(f"Nothing to burn: {exc}. The studies may have been deleted; search again.")
    except ValueError as exc:
        return refuse(str(exc))
    return RedirectResponse(f"/jobs/{job_id}?created=1", status_code=303)
