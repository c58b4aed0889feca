"""The operator pages: study browser and burn form, jobs, hand-out to the audit trail, users and
audit log; decoded names and escaped output. On SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import html
import json
import re

from sqlalchemy import select

from publisher.db.models import AuditEvent, DiscJob
from publisher.jobs.disc_job import create_job, run_job
from publisher.jobs.selection import Selection
from publisher.jobs.state import JobState
from tests.support.web_site import EVIL_STUDY, WEB_STUDIES, Site, csrf_of

LATIN1, CYRILLIC, CJK = WEB_STUDIES[0], WEB_STUDIES[1], WEB_STUDIES[2]


def _study_rows(page: str) -> list[str]:
    return re.findall(r'<tr data-study="([0-9.]+)">', page)


def _job(site: Site, job_id: int) -> DiscJob:
    with site.db.session() as s:
        job = s.get(DiscJob, job_id)
        assert job is not None
        return job


def _events(site: Site, action: str) -> list[AuditEvent]:
    with site.db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_study_browser_searches_the_index_and_shows_decoded_names(site: Site) -> None:
    rad = site.login("rad")
    everything = rad.get("/studies").text
    assert set(_study_rows(everything)) == {str(s.uid) for s in WEB_STUDIES}
    for shown in ("Müller, Jürgen", "Иванова, Мария", "山田, 太郎", "CT Schädel nativ", "МРТ колена", "胸部X線"):
        assert shown in everything
    cases = {
        "name=m%C3%BCller": [LATIN1],  # no wildcard: a prefix, any case
        "name=*%D0%BC%D0%B0%D1%80%D0%B8%D1%8F": [CYRILLIC],  # *мария
        "name=%E5%B1%B1%E7%94%B0%2C+%E5%A4%AA%E9%83%8E": [CJK],  # "山田, 太郎" written with a comma
        "name=m%3Fller*": [LATIN1],  # ? one character (the ü)
        "pid=PAT-C*": [CYRILLIC, CJK],
        "from=2026-02-01&to=2026-03-31": [CYRILLIC, CJK],
        "from=2026-03-01": [CJK],
        "to=2026-01-31": [EVIL_STUDY, LATIN1],
        "accession=ACC1002": [CYRILLIC],
        "name=nobody": [],
    }
    for query, expected in cases.items():
        page = rad.get(f"/studies?{query}").text
        assert sorted(_study_rows(page)) == sorted(str(s.uid) for s in expected), query
    bad = rad.get("/studies?from=31.01.2026")
    assert bad.status_code == 400 and "write it as YYYY-MM-DD" in html.unescape(bad.text)
    backwards = rad.get("/studies?from=2026-03-01&to=2026-01-01")
    assert backwards.status_code == 400 and "ends (2026-01-01) before it starts (2026-03-01)" in backwards.text


def test_burn_form_queues_a_job_with_the_selection_and_the_user(site: Site) -> None:
    rad = site.login("rad")
    page = rad.get("/studies").text
    series = re.findall(r'name="series" value="([0-9.]+)"', page)
    cyr_series = next(s for s in series if s in page.split(f'data-study="{CYRILLIC.uid}"')[1].split("</tr>")[0])
    form = {"csrf": csrf_of(page), "study": [str(LATIN1.uid), str(CJK.uid)], "series": cyr_series,
            "media": "dvd", "copies": "2", "comment": "Für Dr. Müller – 山田", "together": "1", "confirm": "1"}
    # Three patients on one disc: only with the confirmation that names them.
    refused = rad.post("/burn", data=form)
    assert refused.status_code == 400 and "I confirm that these 3 patients go on one disc" in refused.text
    assert "Иванова, Мария (PAT-CYR)" in refused.text
    r = rad.post("/burn", data=form | {"together_ok": "1"})
    assert r.status_code == 303
    job_id = int(r.headers["location"].split("/")[2].split("?")[0])
    job = _job(site, job_id)
    assert (job.state, job.created_by, job.media, job.copies, job.comment) == ("queued", "rad", "dvd", 2, "Für Dr. Müller – 山田")
    assert json.loads(job.selection) == {"patients": [], "studies": [str(LATIN1.uid), str(CJK.uid)], "series": [cyr_series]}
    shown = rad.get(r.headers["location"]).text
    assert "The disc job is queued." in shown and "Für Dr. Müller – 山田" in shown
    for name in ("Müller, Jürgen", "Иванова, Мария", "山田, 太郎"):
        assert name in shown
    listing = rad.get("/api/jobs").json()
    assert listing[0]["id"] == job_id and listing[0]["state"] == "queued" and listing[0]["created_by"] == "rad"


def test_burn_form_explains_bad_input_and_keeps_the_selection(site: Site) -> None:
    rad = site.login("rad")
    token = csrf_of(rad.get("/studies").text)
    study = str(LATIN1.uid)
    cases = [
        ({}, "Select at least one study or series"),
        ({"study": study, "copies": "0"}, "Copies must be a whole number from 1 to 50"),
        ({"study": study, "copies": "two"}, "Copies must be a whole number"),
        ({"study": study, "media": "floppy"}, "Unknown media"),
        ({"study": study, "comment": "x" * 300}, "at most 256"),
        ({"study": "1.2.3.4.5.999"}, "Nothing to burn"),
        ({"study": "1.2.3; DROP TABLE disc_job"}, "Not a DICOM UID"),
    ]
    for fields, message in cases:
        r = rad.post("/burn", data={"csrf": token, "media": "cd", "copies": "1", "q_name": "müller"} | fields)
        assert r.status_code == 400 and message in html.unescape(r.text), (fields, r.text[-800:])
    # The page comes back with the search and the ticked study, ready to correct.
    r = rad.post("/burn", data={"csrf": token, "study": study, "copies": "0", "q_name": "müller"})
    assert _study_rows(r.text) == [study] and f'value="{study}" aria-label="select study" checked' in r.text
    with site.db.session() as s:
        assert s.scalars(select(DiscJob)).first() is None


def test_html_escapes_a_patient_name_with_a_script_tag(site: Site) -> None:
    rad = site.login("rad")
    page = rad.get("/studies?pid=PAT-XSS").text
    assert _study_rows(page) == [str(EVIL_STUDY.uid)]
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page
    assert "&lt;script&gt;alert(&#x27;pn&#x27;)&lt;/script&gt;, Eve" in page
    assert "&lt;img src=x onerror=alert(&#x27;desc&#x27;)&gt;" in page
    job_id = create_job(site.db, Selection(studies=[str(EVIL_STUDY.uid)]), comment="<script>alert('comment')</script>",
                        created_by="rad")
    for url in (f"/jobs/{job_id}", "/jobs"):
        shown = rad.get(url).text
        assert "<script>alert" not in shown and "&lt;script&gt;alert(&#x27;pn&#x27;)" in shown
        assert "&lt;script&gt;alert(&#x27;comment&#x27;)&lt;/script&gt;" in shown
    # The reflected search value is escaped too.
    reflected = rad.get('/studies?name="><script>alert(1)</script>').text
    assert "<script>alert(1)" not in reflected and 'value="&quot;&gt;&lt;script&gt;' in reflected


def _finished_job(site: Site, copies: int = 2) -> int:
    job_id = create_job(site.db, Selection(studies=[str(CYRILLIC.uid)]), copies=copies, created_by="rad")
    assert run_job(site.job_context(), job_id) is JobState.DONE
    return job_id


def test_hand_out_records_who_took_which_disc_in_the_audit_trail(site: Site) -> None:
    job_id = _finished_job(site)
    desk = site.login("desk")
    ready = desk.get("/jobs?view=ready").text
    assert f'data-job="{job_id}"' in ready and "2 disc(s) ready" in ready and "Иванова, Мария" in ready
    form = desk.get(f"/jobs/{job_id}/handout").text
    assert 'value="1-1"' in form and 'value="1-2"' in form
    r = desk.post(f"/jobs/{job_id}/handout", data={"csrf": csrf_of(form), "disc": "1-1", "recipient": "Иванов Пётр",
                                                   "relation": "relative", "id_checked": "yes", "note": "husband"})
    assert r.status_code == 303 and r.headers["location"] == f"/jobs/{job_id}?handed=1"
    (event,) = _events(site, "handout")
    detail = json.loads(event.detail)
    assert event.actor == "desk" and event.subject == f"job {job_id}"
    assert detail["recipient"] == {"name": "Иванов Пётр", "relation": "relative", "id_checked": True}
    assert detail["discs"] == [{"volume": 1, "of": 1, "copy": 1, "file_set_id": detail["discs"][0]["file_set_id"]}]
    assert detail["discs"][0]["file_set_id"] and detail["patients"] == [{"id": "PAT-CYR", "name": "Иванова^Мария"}]
    # The export itself is in the trail too: which disc, whose data, made for whom.
    exports = _events(site, "media-export")
    assert exports and exports[-1].subject == detail["discs"][0]["file_set_id"] and exports[-1].actor == "rad"
    shown = desk.get(f"/jobs/{job_id}?handed=1").text
    assert "The hand-out is recorded." in shown and "Иванов Пётр" in shown and "a relative of the patient" in shown
    assert "1 of 2 disc(s) ready" in desk.get("/jobs").text
    # The same disc cannot be handed out twice; the other copy can.
    token = csrf_of(shown)
    again = desk.post(f"/jobs/{job_id}/handout", data={"csrf": token, "disc": "1-1", "recipient": "X", "relation": "patient",
                                                       "id_checked": "no"})
    assert again.status_code in (400, 409) and len(_events(site, "handout")) == 1
    r = desk.post(f"/jobs/{job_id}/handout", data={"csrf": token, "disc": "1-2", "recipient": "Dr. Sasha Petrov",
                                                   "relation": "referring-physician", "id_checked": "no"})
    assert r.status_code == 303 and len(_events(site, "handout")) == 2
    assert f'data-job="{job_id}"' not in desk.get("/jobs?view=ready").text  # nothing left to hand out
    audit_page = site.login("boss").get("/admin/audit?action=handout").text
    assert "Иванов Пётр" in audit_page and "Dr. Sasha Petrov" in audit_page and "ID checked: yes" in audit_page


def test_hand_out_form_refuses_bad_input_roles_and_unfinished_jobs(site: Site) -> None:
    job_id = _finished_job(site, copies=1)
    desk = site.login("desk")
    token = csrf_of(desk.get(f"/jobs/{job_id}/handout").text)
    good = {"csrf": token, "disc": "1-1", "recipient": "Anna", "relation": "patient", "id_checked": "yes"}
    for missing, message in (("disc", "Tick the disc"), ("recipient", "Write the name"), ("relation", "Choose who"),
                             ("id_checked", "identity document")):
        r = desk.post(f"/jobs/{job_id}/handout", data={k: v for k, v in good.items() if k != missing})
        assert r.status_code == 400 and message in r.text, missing
    r = desk.post(f"/jobs/{job_id}/handout", data=good | {"disc": "7-7"})
    assert r.status_code == 400 and "no disc" in html.unescape(r.text)
    rad = site.login("rad")
    assert rad.post(f"/jobs/{job_id}/handout", data=good | {"csrf": csrf_of(rad.get("/jobs").text)}).status_code == 403
    queued = create_job(site.db, Selection(studies=[str(LATIN1.uid)]), created_by="rad")
    assert desk.get(f"/jobs/{queued}/handout").status_code == 409
    r = desk.post(f"/jobs/{queued}/handout", data=good)
    assert r.status_code == 409 and "only discs of a finished job" in r.text
    assert _events(site, "handout") == []
    assert desk.get("/jobs/9999").status_code == 404


def test_cancel_and_resubmit_by_allowed_roles(site: Site) -> None:
    job_id = create_job(site.db, Selection(studies=[str(LATIN1.uid)]), created_by="rad")
    desk, rad = site.login("desk"), site.login("rad")
    page = desk.get(f"/jobs/{job_id}").text
    assert f"/jobs/{job_id}/cancel" not in page  # no button for the front desk ...
    assert desk.post(f"/jobs/{job_id}/cancel", data={"csrf": csrf_of(page)}).status_code == 403  # ... nor the action
    page = rad.get(f"/jobs/{job_id}").text
    assert f"/jobs/{job_id}/cancel" in page
    r = rad.post(f"/jobs/{job_id}/cancel", data={"csrf": csrf_of(page)})
    assert r.status_code == 303 and _job(site, job_id).state == "cancelled"
    r = rad.post(f"/jobs/{job_id}/cancel", data={"csrf": csrf_of(page)})
    assert r.status_code == 409 and "a cancelled job cannot become cancelled" in r.text
    assert [e.actor for e in _events(site, "cancel")] == ["rad"]
    # A failed job (robot fault) is resubmitted and queued again.
    failed = create_job(site.db, Selection(studies=[str(CJK.uid)]), created_by="rad")
    with site.db.session() as s:
        job = s.get(DiscJob, failed)
        assert job is not None
        job.state, job.error = "failed", "EmptyInputBin: no blank discs"
    page = rad.get(f"/jobs/{failed}").text
    assert "EmptyInputBin: no blank discs" in page and f"/jobs/{failed}/resubmit" in page
    assert rad.post(f"/jobs/{failed}/resubmit", data={"csrf": csrf_of(page)}).status_code == 303
    assert _job(site, failed).state == "queued" and _job(site, failed).error == ""
    r = rad.post(f"/jobs/{failed}/resubmit", data={"csrf": csrf_of(page)})
    assert r.status_code == 409 and "Only a failed job" in r.text


def test_job_page_and_api_show_progress_volumes_and_discs(site: Site) -> None:
    job_id = _finished_job(site)
    rad = site.login("rad")
    detail = rad.get(f"/api/jobs/{job_id}").json()
    assert detail["state"] == "done" and detail["progress"]["done"] == detail["progress"]["total"] > 0
    page = rad.get(f"/jobs/{job_id}").text
    assert 'class="state state-done">done<' in page and "<h2>Volumes</h2>" in page and "<h2>Discs</h2>" in page
    assert detail["volumes"][0]["file_set_id"] in page and page.count(">ok<") == 2
    assert '<script src="/static/jobs.js" defer></script>' in page
    assert rad.get("/static/jobs.js").status_code == 200


def test_admin_sets_passwords_and_reads_the_audit_log(site: Site) -> None:
    boss = site.login("boss")
    r = boss.post("/admin/users/password", data={"csrf": csrf_of(boss.get("/admin/users").text), "username": "desk",
                                                 "password": "another-desk-pw"})
    assert r.status_code == 200 and "New password set for desk" in r.text
    assert Site.post_login(site.client(), "desk", "desk-password-1").status_code == 401  # type: ignore[attr-defined]
    site.login("desk", "another-desk-pw")
    r = boss.post("/admin/users/password", data={"csrf": csrf_of(boss.get("/admin/users").text), "username": "desk",
                                                 "password": "short"})
    assert r.status_code == 400 and "at least 8 characters" in r.text
    log = boss.get("/admin/audit").text
    for action in ("user-password", "login", "login-failed"):
        assert f"<td>{action}</td>" in log
    only = boss.get("/admin/audit?action=user-password").text
    assert "<td>user-password</td>" in only and "<td>login</td>" not in only
