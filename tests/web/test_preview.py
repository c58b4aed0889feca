"""Issue 14, found 3: the burn preview names what a burn will make and asks before an unusual
one: many copies, a medium far larger than the data; the automatic medium is the smallest that
fits; the label preview is the PNG the robot will print."""

from __future__ import annotations

import html
import json

from sqlalchemy import select

from publisher.db.models import DiscJob
from tests.support.web_site import WEB_STUDIES, Site, csrf_of

LATIN1, CYRILLIC = WEB_STUDIES[0], WEB_STUDIES[1]


def _jobs(site: Site) -> list[DiscJob]:
    with site.db.session() as s:
        jobs = list(s.scalars(select(DiscJob).order_by(DiscJob.id)))
        s.expunge_all()
        return jobs


def test_preview_warns_confirms_and_makes_one_job_per_patient(sqlite_site: Site) -> None:
    rad = sqlite_site.login("rad")
    token = csrf_of(rad.get("/studies").text)
    form = {"csrf": token, "study": [str(LATIN1.uid), str(CYRILLIC.uid)], "media": "bd", "copies": "12"}
    shown = html.unescape(rad.post("/burn/preview", data=form).text)
    assert "2 patient(s), 2 disc job(s), 24 disc(s) in all" in shown
    assert "12 copies of each disc: 24 discs in all." in shown and "one CD-R (700 MB) holds it" in shown
    refused = rad.post("/burn", data=form)
    assert refused.status_code == 400 and "Tick the confirmation below the warnings" in refused.text and not _jobs(sqlite_site)
    r = rad.post("/burn", data=form | {"confirm": "1"})
    assert r.status_code == 303 and r.headers["location"].startswith("/jobs?created=")
    jobs = _jobs(sqlite_site)
    assert [json.loads(j.selection)["studies"] for j in jobs] == [[str(LATIN1.uid)], [str(CYRILLIC.uid)]]
    assert {(j.media, j.copies) for j in jobs} == {("bd", 12)}
    # Automatic: the smallest medium that holds the study, and no warning for one copy.
    auto = html.unescape(rad.post("/burn/preview", data={"csrf": token, "study": str(LATIN1.uid), "media": "auto",
                                                         "copies": "1"}).text)
    assert '<td class="media">CD-R (700 MB)</td>' in auto and "Please check" not in auto
    label = rad.get(f"/burn/label.png?study={LATIN1.uid}&comment=F%C3%BCr+Sie")
    assert label.status_code == 200 and label.headers["content-type"] == "image/png" and label.content[:4] == b"\x89PNG"
    pdf = rad.get(f"/burn/label.pdf?study={LATIN1.uid}")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-" and f"/burn/label.pdf?study={LATIN1.uid}" in auto
    assert rad.get("/burn/label.png?study=1.2.3").status_code == 404
    assert sqlite_site.login("desk").get(f"/burn/label.png?study={LATIN1.uid}").status_code == 403
