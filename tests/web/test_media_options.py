"""Issue 12: the web UI sets the job options of real-world media (lossless compression) and
lets a person leave out the instances a job's planning refused, then run it again."""

from __future__ import annotations

import json
import subprocess

from publisher.db.models import DiscJob
from publisher.jobs.disc_job import create_job, run_job
from publisher.jobs.selection import Selection
from publisher.jobs.state import JobState
from publisher.media.preflight import Problem
from publisher.jobs.preflight import problems_json
from publisher.demo.samples import CJK_PATIENT, LATIN1_PATIENT
from tests.support.tools import require_tool
from tests.support.web_site import Site, csrf_of


def _job(site: Site, job_id: int) -> DiscJob:
    with site.db.session() as s:
        job = s.get(DiscJob, job_id)
        assert job is not None
        s.expunge(job)
        return job


def test_burn_form_sets_lossless_compression(sqlite_site: Site) -> None:
    rad = sqlite_site.login("rad")
    page = rad.get("/studies").text
    assert 'name="compress"' in page
    study = next(s for s in __import__("re").findall(r'name="study" value="([0-9.]+)"', page))
    r = rad.post("/burn", data={"csrf": csrf_of(page), "study": study, "media": "dvd", "copies": "1", "compress": "1",
                                "confirm": "1"})  # a DVD for a small study asks for a confirmation
    assert r.status_code == 303
    job_id = int(r.headers["location"].split("/")[2].split("?")[0])
    assert _job(sqlite_site, job_id).compress is True
    assert "compressed losslessly" in rad.get(f"/jobs/{job_id}").text
    r = rad.post("/burn", data={"csrf": csrf_of(page), "study": study, "media": "dvd", "copies": "1", "confirm": "1"})
    assert _job(sqlite_site, int(r.headers["location"].split("/")[2].split("?")[0])).compress is False


def test_failed_planning_lists_the_instances_and_resubmits_without_them(sqlite_site: Site) -> None:
    rad = sqlite_site.login("rad")
    job_id = create_job(sqlite_site.db, Selection(patients=[LATIN1_PATIENT.patient_id, CJK_PATIENT.patient_id]),
                        created_by="rad")
    ctx = sqlite_site.job_context()
    with sqlite_site.db.session() as s:  # what a failed planning leaves on the job
        from publisher.jobs.selection import select_instances

        instances, _ = select_instances(s, Selection(patients=[CJK_PATIENT.patient_id]), ctx.archive_root)
        job = s.get(DiscJob, job_id)
        assert job is not None
        victim = instances[0]
        job.state, job.error = "failed", "planning: 1 instance(s) cannot go on cd"
        job.problems = problems_json([Problem(victim.sop_instance_uid, "patient 山田^太郎, instance 1", "cannot decode it")])
    page = rad.get(f"/jobs/{job_id}").text
    assert "Cannot go on the medium" in page and victim.sop_instance_uid in page and "cannot decode it" in page
    assert "Resubmit without the 1 object(s) listed" in page
    r = rad.post(f"/jobs/{job_id}/resubmit", data={"csrf": csrf_of(page), "exclude_problems": "1"})
    assert r.status_code == 303
    job = _job(sqlite_site, job_id)
    assert job.state == "queued" and json.loads(job.exclude or "{}") == {victim.sop_instance_uid: "cannot decode it"}
    assert run_job(ctx, job_id) is JobState.DONE, _job(sqlite_site, job_id).error
    (volume,) = json.loads(_job(sqlite_site, job_id).volumes)
    require_tool("xorriso")
    readme = sqlite_site.tmp / "README.TXT"
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", volume["image"], "-extract", "/README.TXT", str(readme)],
                   check=True, capture_output=True)
    assert f"(SOP Instance UID {victim.sop_instance_uid}): cannot decode it" in readme.read_text()
    page = rad.get(f"/jobs/{job_id}").text
    assert "Left out" in page and victim.sop_instance_uid in page
