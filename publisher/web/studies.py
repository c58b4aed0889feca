"""The radiologist's worklist: studies newest arrival first, a page at a time, filtered by name,
Patient ID, dates, modality and sending AE, each with what is already on disc; the studies
ticked go to the burn preview (:mod:`publisher.web.preview`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from publisher.archive.lookup import SeriesSummary, WorklistFilter, WorklistStudy, series_of_studies, worklist
from publisher.archive.query.keys import QueryError
from publisher.jobs.disc_job import ROBOT_MEDIA
from publisher.web.auth import Permission, Session
from publisher.web.context import require, web
from publisher.web.render import Safe, csrf_field, dicom_date, esc, fmt, join, messages, options, page, person_name, size

router = APIRouter()

#: Studies per page of the worklist.
PAGE_SIZE = 50
MAX_COPIES = 50
MAX_COMMENT = 256
_MEDIA_NAMES = {"cd": "CD-R (700 MB)", "dvd": "DVD-R (4.7 GB)", "dvd-dl": "DVD-R DL (8.5 GB)",
                "bd": "BD-R (25 GB)", "bd-dl": "BD-R DL (50 GB)"}
#: The media a robot burns, as the burn form offers them.
MEDIA: dict[str, str] = {m.value: _MEDIA_NAMES.get(m.value, m.value) for m in ROBOT_MEDIA}
#: The burn form's choice of media: the smallest that holds the selection, or one by name.
MEDIA_CHOICES: dict[str, str] = {"auto": "Automatic (smallest that fits)"} | MEDIA
_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
_AE = re.compile(r"[ -~]{0,16}")
_FIELDS = ("name", "pid", "from", "to", "accession", "modality", "ae", "rfrom", "rto")


class SearchError(ValueError):
    pass


@dataclass
class StudySearch:
    """The search fields as typed (kept to show them again), and the page asked for."""

    values: dict[str, str] = field(default_factory=dict)
    page: int = 1

    @classmethod
    def of(cls, values: Mapping[str, str]) -> StudySearch:
        got = {k: values.get(k, "").strip()[:128] for k in _FIELDS}
        number = values.get("page", "1")
        return cls({k: v for k, v in got.items() if v}, int(number) if number.isdigit() and 0 < int(number) < 10**6 else 1)

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def fields(self) -> dict[str, str]:
        return {k: self.get(k) for k in _FIELDS}

    def url(self, page_number: int) -> str:
        return "/studies?" + urlencode({**self.values, "page": str(page_number)})

    def filter(self) -> WorklistFilter:
        """The worklist filter; raises :class:`SearchError` naming a field written wrongly."""
        start, end = _date(self.get("from"), "from"), _date(self.get("to"), "to")
        if start and end and start > end:
            raise SearchError(f"the date range ends ({dicom_date(end)}) before it starts ({dicom_date(start)})")
        rstart, rend = _date(self.get("rfrom"), "received from"), _date(self.get("rto"), "received to")
        if rstart and rend and rstart > rend:
            raise SearchError(f"the received range ends ({dicom_date(rend)}) before it starts ({dicom_date(rstart)})")
        if not _AE.fullmatch(self.get("ae")):
            raise SearchError("an AE title has at most 16 plain characters")
        name = re.sub(r"\s*,\s*", "^", self.get("name"))  # "Müller, Jürgen" is written Müller^Jürgen
        return WorklistFilter(
            name=name, patient_id=self.get("pid"), accession=self.get("accession"), study_from=start, study_to=end,
            received_from=_day(rstart), received_before=_day(rend, 1), modality=self.get("modality")[:16],
            sending_ae=self.get("ae"))


def _date(text: str, which: str) -> str:
    if not text:
        return ""
    m = _DATE.fullmatch(text)
    if m is None:
        raise SearchError(f"date {which} {text!r}: write it as YYYY-MM-DD, e.g. 2026-01-31")
    try:
        dt.date(*(int(g) for g in m.groups()))
    except ValueError:
        raise SearchError(f"date {which} {text!r} is not a day of the calendar") from None
    return "".join(m.groups())


def _day(da: str, plus: int = 0) -> dt.datetime | None:
    """Midnight (UTC) of DICOM date ``da`` plus ``plus`` days; None for no date."""
    if not da:
        return None
    return dt.datetime.strptime(da, "%Y%m%d") + dt.timedelta(days=plus)


@dataclass
class BurnForm:
    studies: list[str] = field(default_factory=list)
    series: list[str] = field(default_factory=list)
    media: str = "auto"
    copies: str = "1"
    comment: str = ""
    compress: bool = False


def received(at: dt.datetime | None) -> str:
    """An arrival time as the worklist shows it (UTC, labelled in the column head)."""
    return "" if at is None else at.strftime("%Y-%m-%d %H:%M")


def _search_form(s: StudySearch, modalities: tuple[str, ...]) -> Safe:
    mods = {"": "any"} | {m: m for m in modalities}
    return fmt(
        '<form method="get" action="/studies" class="search">'
        '<label>Patient name <input name="name" value="{name}" placeholder="muller or Müller, J*"></label>'
        '<label>Patient ID <input name="pid" value="{pid}"></label>'
        '<label>Study date from <input name="from" type="date" value="{frm}"></label>'
        '<label>to <input name="to" type="date" value="{to}"></label>'
        '<label>Accession <input name="accession" value="{acc}"></label>'
        '<label>Modality <select name="modality">{mods}</select></label>'
        '<label>Sent by (AE) <input name="ae" value="{ae}" maxlength="16"></label>'
        '<label>Received from <input name="rfrom" type="date" value="{rfrom}"></label>'
        '<label>to <input name="rto" type="date" value="{rto}"></label>'
        '<button type="submit">Search</button></form>'
        '<p class="hint">Names: a family or given name, with or without accents, upper or lower case; '
        '<code>*</code> stands for any characters, <code>?</code> for one (as in C-FIND); a name finds every name '
        'part that starts with it; <code>Müller, J*</code> names family then given name. Patient IDs: the whole ID, '
        'any case, or a wildcard pattern. Received dates are UTC.</p>',
        name=s.get("name"), pid=s.get("pid"), frm=s.get("from"), to=s.get("to"), acc=s.get("accession"),
        mods=options(mods, s.get("modality")), ae=s.get("ae"), rfrom=s.get("rfrom"), rto=s.get("rto"),
    )


def _checked(on: bool) -> Safe:
    return Safe(" checked") if on else Safe("")


def _on_disc(st: WorklistStudy) -> Safe:
    if not st.jobs:
        return Safe("")
    return join((fmt('<a href="/jobs/{id}" class="job {state}">#{id} {state}</a>', id=j.id, state=j.state)
                 for j in st.jobs[:5]), " ")


def _study_rows(rows: list[WorklistStudy], series: dict[int, list[SeriesSummary]], form: BurnForm) -> Safe:
    out = []
    for r in rows:
        uid = r.study_instance_uid
        series_items = join(
            fmt('<li><label><input type="checkbox" name="series" value="{uid}"{chk}> {mod} #{num} {desc} '
                '<span class="count">({n} instances)</span></label></li>',
                uid=se.series_instance_uid, chk=_checked(se.series_instance_uid in form.series), mod=se.modality,
                num="" if se.number is None else se.number, desc=se.description, n=se.instances)
            for se in series.get(r.pk, [])
        )
        out.append(fmt(
            '<tr data-study="{uid}"><td><input type="checkbox" name="study" value="{uid}" '
            'aria-label="select study"{chk}></td><td class="received">{rec}</td>'
            '<td class="pname">{name}</td><td class="pid">{pid}</td><td>{birth}</td><td>{date}</td><td>{acc}</td>'
            '<td>{desc}<details><summary>{nser} series</summary><ul class="series">{series}</ul></details></td>'
            '<td class="mods">{mods}</td><td class="num">{ninst}</td><td class="num">{size}</td><td>{aes}</td>'
            '<td class="ondisc">{jobs}</td></tr>',
            uid=uid, chk=_checked(uid in form.studies), rec=received(r.received_at), name=person_name(r.patient_name),
            pid=r.patient_id, birth=dicom_date(r.birth_date), date=dicom_date(r.study_date), acc=r.accession_number,
            desc=r.description, nser=r.series, series=series_items, mods=", ".join(r.modalities), ninst=r.instances,
            size=size(r.size), aes=", ".join(r.sending_aes), jobs=_on_disc(r),
        ))
    return join(out)


def _pager(s: StudySearch, total: int) -> Safe:
    first = (s.page - 1) * PAGE_SIZE
    pages = max(1, -(-total // PAGE_SIZE))
    newer = fmt('<a href="{}" rel="prev">Newer</a>', s.url(s.page - 1)) if s.page > 1 else Safe("")
    older = fmt('<a href="{}" rel="next">Older</a>', s.url(s.page + 1)) if s.page < pages else Safe("")
    return fmt('<p class="pager">{newer} <span>Studies {a}–{b} of {n} (page {p} of {pages}), newest arrival first'
               '</span> {older}</p>', newer=newer, a=min(first + 1, total), b=min(first + PAGE_SIZE, total), n=total,
               p=s.page, pages=pages, older=older)


def render_studies(request: Request, session: Session, s: StudySearch, *, form: BurnForm | None = None,
                   error: str = "", status: int = 200) -> HTMLResponse:
    db = web(request).db
    form = form or BurnForm()
    modalities: tuple[str, ...] = ()
    rows: list[WorklistStudy] = []
    total = 0
    try:
        found = worklist(db, s.filter(), limit=PAGE_SIZE, offset=(s.page - 1) * PAGE_SIZE)
        rows, total, modalities = found.studies, found.total, found.modalities
    except (SearchError, QueryError) as exc:
        error = error or str(exc)
        status = 400 if status == 200 else status
    series = series_of_studies(db, (r.pk for r in rows))
    hidden = join(fmt('<input type="hidden" name="q_{}" value="{}">', k, v) for k, v in s.fields().items())
    if rows:
        table = fmt(
            '{pager}<form method="post" action="/burn/preview" class="burn">{csrf}{hidden}'
            '<table class="studies"><thead><tr><th></th><th>Received (UTC)</th><th>Patient</th><th>Patient ID</th>'
            '<th>Born</th><th>Study date</th><th>Accession</th><th>Description and series</th><th>Modalities</th>'
            '<th>Instances</th><th>Size</th><th>Sent by</th><th>On disc</th></tr></thead><tbody>{rows}</tbody></table>'
            '<fieldset><legend>Burn the selected studies and series</legend>'
            '<label>Media <select name="media">{media}</select></label>'
            '<label>Copies <input name="copies" type="number" min="1" max="{maxc}" value="{copies}" required></label>'
            '<label class="wide">Comment on the label <input name="comment" maxlength="{maxm}" value="{comment}"></label>'
            '<label><input type="checkbox" name="compress" value="1"{compress}> Compress images losslessly where the '
            'disc allows it (fewer DVDs / BDs; pixels unchanged)</label>'
            '<button type="submit">Preview the discs</button></fieldset></form>{pager}',
            pager=_pager(s, total), csrf=csrf_field(session), hidden=hidden, rows=_study_rows(rows, series, form),
            media=options(MEDIA_CHOICES, form.media), maxc=MAX_COPIES, copies=form.copies, maxm=MAX_COMMENT,
            comment=form.comment, compress=_checked(form.compress),
        )
    else:
        table = Safe("") if error else fmt('<p class="empty">{}</p>', "No study matches the search.")
    body = fmt("{search}{msg}{table}", search=_search_form(s, modalities), msg=messages(error), table=table)
    return HTMLResponse(page("Studies", body, session, active="/studies"), status_code=status)


@router.get("/studies", response_class=HTMLResponse)
def studies_page(request: Request, session: Session = Depends(require(Permission.BROWSE))) -> HTMLResponse:
    return render_studies(request, session, StudySearch.of(request.query_params))


def search_of_form(values: Mapping[str, Any]) -> StudySearch:
    """The search a burn form carried along (its ``q_*`` fields)."""
    return StudySearch.of({k[2:]: str(v) for k, v in values.items() if k.startswith("q_")})
