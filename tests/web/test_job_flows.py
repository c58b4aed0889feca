"""Disc jobs, the front desk and the robots in Chromium, by clicks, against a real ``publisher
serve`` with the simulator robot at a pace where a disc takes about a second (issue 14):

- cancel a running 20-copy job: fewer than 20 discs burned (the job's discs and the simulator's
  output bin on the robots page);
- progress moves during burning, never falls back (no 100 % then 0 % after mastering);
- burn a done job again (from its kept image) and reprint its label (a PDF with the patient's name);
- the front desk finds a superseded disc, cannot hand it out without an override, and prints a
  receipt with the hand-over's audit number (checked with pdftotext).

``SCREENSHOT_DIR=docs/screenshots`` saves a PNG of each page on the way."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from publisher.demo import samples
from tests.support.served import Served, publisher_serve

pytestmark = [pytest.mark.interop]

PATIENT = samples.PatientSpec("Müller^Jürgen", "PAT-FLOW-1", "19610203", "M", "ISO_IR 192")
SMALL = samples.SeriesSpec("ct", 2, 1, "small", 32, 32)
FIRST = samples.StudySpec(PATIENT, "flow", "CT Thorax", "20261201", "101500", "ACCFLOW", series=(SMALL,))
#: the same study once more images arrived: a second series
COMPLETE = samples.StudySpec(PATIENT, "flow", "CT Thorax", "20261201", "101500", "ACCFLOW",
                             series=(SMALL, samples.SeriesSpec("ct", 3, 2, "late", 32, 32)))
USERS = {"rad": ("radiologist", "rad-password-1"), "desk": ("frontdesk", "desk-password-1")}
#: the simulator: ~55 robot seconds per disc, 2 drives; at 0.03 a disc takes about 1.7 s
CONFIG = '[robot]\nkind = "simulator"\ntime_scale = 0.03\n'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("flows")
    env = {"PUBLISHER_JOBS_WORKER": "true", "PUBLISHER_JOBS_TICK_SECONDS": "1"}
    with publisher_serve(tmp, env, CONFIG, users=USERS) as served:
        r = served.cli("import", *map(str, samples.write_study(FIRST, tmp / "first")))
        assert r.returncode == 0, r.stderr
        yield served


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def login(chromium: Any, served: Served, user: str) -> tuple[Any, Any]:
    context = chromium.new_context()
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())  # the confirmations (cancel, burn again) are accepted
    page.goto(served.base + "/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", USERS[user][1])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return context, page


def burn_study(page: Any, served: Served, copies: int) -> int:
    """Find the study by patient ID, tick it, burn ``copies`` CDs; the new job's id."""
    page.goto(served.base + "/studies")
    page.fill("input[name=pid]", PATIENT.patient_id)
    page.click("form.search button[type=submit]")
    page.locator("tr[data-study] input[name=study]").first.check()
    page.select_option("select[name=media]", "cd")
    page.fill("input[name=copies]", str(copies))
    page.click("form.burn button[type=submit]")
    page.wait_for_url(re.compile(r"/burn"))  # the preview: medium, discs, label, warnings
    if page.locator("input[name=confirm]").count():  # many copies: the warning is ticked as read
        page.check("input[name=confirm]")
    page.click("form.burn-confirm button[type=submit]")
    page.wait_for_url(re.compile(r"/jobs/\d+\?created=1$"))
    return int(re.search(r"/jobs/(\d+)", page.url).group(1))  # type: ignore[union-attr]


def api(page: Any, served: Served, path: str) -> Any:
    r = page.request.get(served.base + path)
    assert r.ok, (r.status, path)
    return r.json()


def wait_state(page: Any, served: Served, job: int, state: str) -> None:
    """Poll the job until it is in ``state`` (the page itself reloads when the state changes)."""
    while (found := api(page, served, f"/api/jobs/{job}")["state"]) != state:
        assert found not in ("done", "failed", "cancelled"), f"job {job} ended {found}, not {state}"
        page.wait_for_timeout(200)


def output_bin(page: Any, served: Served) -> int:
    page.goto(served.base + "/robots")
    return int(page.locator("section.robot .output-bin").first.inner_text())


#: records every (state, percentage) the jobs list shows for one job, in place
WATCH = """jobId => {
  const live = document.querySelector(`tr[data-job="${jobId}"]`);
  window.seen = [];
  const note = () => {
    const s = [live.querySelector('.state').textContent, live.querySelector('.pct').textContent];
    const last = window.seen[window.seen.length - 1];
    if (!last || s[0] !== last[0] || s[1] !== last[1]) window.seen.push(s);
  };
  note();
  new MutationObserver(note).observe(live, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def test_health_of_the_running_service_names_every_part(served: Served) -> None:
    with urllib.request.urlopen(served.base + "/health", timeout=30) as r:
        body = json.load(r)
    assert r.status == 200 and body["status"] == "ok" and body["down"] == [], body
    assert set(body["parts"]) == {"dicom", "worker", "robot:simulator", "disk", "database"}, body
    assert body["parts"]["worker"]["running"] and body["parts"]["disk"]["free_bytes"] > 0


def test_cancel_a_running_20_copy_job_burns_fewer_than_20(served: Served, chromium: Any) -> None:
    context, page = login(chromium, served, "rad")
    try:
        before = output_bin(page, served)
        job = burn_study(page, served, 20)
        wait_state(page, served, job, "burning")
        page.goto(f"{served.base}/jobs/{job}")
        page.wait_for_function("() => /[1-9]\\d* of 20 disc/.test(document.querySelector('#live .message').textContent)",
                               timeout=240_000)  # a disc is made: the burn is under way
        button = page.locator("button", has_text="Cancel job")
        assert "will not be burned" in (button.get_attribute("data-confirm") or "")
        shot(page, "job-burning")
        button.click()
        page.wait_for_url(re.compile(rf"/jobs/{job}(\?cancelling=1)?$"))
        wait_state(page, served, job, "cancelled")
        page.close()  # it reloads itself as the state changes: look on a page of our own
        page = context.new_page()
        page.goto(f"{served.base}/jobs/{job}")
        detail = api(page, served, f"/api/jobs/{job}")
        made = [d for d in detail["discs"] if d["ok"]]
        assert detail["state"] == "cancelled" and 0 < len(made) < 20, detail["discs"]
        assert "of 20 disc(s) good" in page.locator("#live .message").inner_text()
        shot(page, "job-cancelled")
        # The simulator's own count: its output bin holds only what was made, fewer than 20.
        after = output_bin(page, served)
        assert after - before == len(made) < 20, (before, after, len(made))
        shot(page, "robots")
    finally:
        context.close()


def test_progress_moves_while_burning_then_burn_again_and_reprint(served: Served, chromium: Any, tmp_path: Path) -> None:
    context, page = login(chromium, served, "rad")
    try:
        job = burn_study(page, served, 3)
        page.goto(served.base + "/jobs")
        page.evaluate(WATCH, job)
        page.wait_for_function("id => document.querySelector(`tr[data-job=\"${id}\"] .state`).textContent === 'done'",
                               arg=job, timeout=240_000)
        seen = page.evaluate("window.seen")
        pcts = [int(p.rstrip("%")) for s, p in seen if p]
        burning = [int(p.rstrip("%")) for s, p in seen if s == "burning" and p]
        assert pcts == sorted(pcts), seen  # never back to 0 % after mastering
        assert len(set(burning)) >= 3 and all(0 < p < 100 for p in burning), seen  # moves during burning
        page.goto(f"{served.base}/jobs/{job}")
        assert page.locator("#live .pct").inner_text() == "100%"
        assert "3 of 3 disc(s) good" in page.locator("#live .message").inner_text()
        shot(page, "job-done")

        # Reprint the label: the PDF of the label, with the patient's name.
        href = page.locator("a.label-pdf").first.get_attribute("href")
        r = page.request.get(served.base + str(href))
        assert r.ok and r.headers["content-type"] == "application/pdf"
        (tmp_path / "label.pdf").write_bytes(r.body())
        text = subprocess.run(["pdftotext", str(tmp_path / "label.pdf"), "-"], capture_output=True, text=True, check=True).stdout
        assert "Müller" in text, text
        with page.expect_download() as download:
            page.click("a.iso")
        iso = Path(download.value.path())
        assert iso.read_bytes()[32769:32774] == b"CD001"  # an ISO 9660 volume descriptor (ECMA-119 8.1)

        # Burn it again, one copy, from the kept image.
        page.fill("#again input[name=copies]", "1")
        page.click("#again button[type=submit]")
        page.wait_for_url(re.compile(r"/jobs/\d+\?created=1$"))
        again = int(re.search(r"/jobs/(\d+)", page.url).group(1))  # type: ignore[union-attr]
        assert again != job
        wait_state(page, served, again, "done")
        old, new = api(page, served, f"/api/jobs/{job}"), api(page, served, f"/api/jobs/{again}")
        assert [v["image"] for v in new["volumes"]] == [v["image"] for v in old["volumes"]]  # not re-mastered
        assert len([d for d in new["discs"] if d["ok"]]) == 1
        audit = [e for e in api_audit(page, served) if e["action"] in ("burn-again", "label-download", "image-download")]
        assert {e["action"] for e in audit} == {"burn-again", "label-download", "image-download"}, audit
    finally:
        context.close()


def api_audit(page: Any, served: Served) -> list[dict[str, Any]]:
    """The audit trail as the service's SQLite database holds it (neither role may read the audit page)."""
    with sqlite3.connect(served.data / "publisher.db") as db:
        return [{"action": a, "detail": json.loads(d or "{}")} for a, d in db.execute("SELECT action, detail FROM audit_event")]


def test_front_desk_refuses_a_superseded_disc_without_override_and_prints_a_receipt(
        served: Served, chromium: Any, tmp_path: Path) -> None:
    rad_context, rad = login(chromium, served, "rad")
    try:
        first = burn_study(rad, served, 1)
        wait_state(rad, served, first, "done")
        r = served.cli("import", *map(str, samples.write_study(COMPLETE, tmp_path / "complete")))
        assert r.returncode == 0, r.stderr
        complete = burn_study(rad, served, 1)
        wait_state(rad, served, complete, "done")
    finally:
        rad_context.close()
    context, page = login(chromium, served, "desk")
    try:
        page.goto(served.base + "/desk")
        page.fill("input[name=q]", "muller jurgen")  # no accents, lower case
        page.click("form.search button[type=submit]")
        row = page.locator(f'tr[data-job="{first}"]')
        assert "superseded by job" in row.inner_text() and str(complete) in row.inner_text()
        assert "superseded" not in page.locator(f'tr[data-job="{complete}"]').inner_text()
        shot(page, "front-desk")
        row.locator("a.button").click()
        assert page.locator("fieldset.override").count() == 1
        page.fill("input[name=recipient]", "Jürgen Müller")
        page.select_option("select[name=relation]", "patient")
        page.check("input[name=id_checked][value=yes]")
        page.click("form.stack button[type=submit]")
        assert f"superseded by job {complete}" in page.locator("p.error").inner_text()
        page.goto(f"{served.base}/jobs/{first}")
        assert page.locator("table.handouts").count() == 0 and page.locator("p.superseded").count() == 1
        # The complete disc is handed out, and its receipt printed.
        page.goto(f"{served.base}/jobs/{complete}/handout")
        assert page.locator("fieldset.override").count() == 0
        page.fill("input[name=recipient]", "Jürgen Müller")
        page.select_option("select[name=relation]", "patient")
        page.check("input[name=id_checked][value=yes]")
        page.click("form.stack button[type=submit]")
        page.wait_for_url(re.compile(rf"/jobs/{complete}\?handed=1$"))
        link = page.locator("a.receipt").first
        number = int(link.inner_text().split()[-1])
        r = page.request.get(served.base + str(link.get_attribute("href")))
        assert r.ok and r.headers["content-type"] == "application/pdf"
        (tmp_path / "receipt.pdf").write_bytes(r.body())
        text = subprocess.run(["pdftotext", str(tmp_path / "receipt.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert f"Audit number: {number}" in text and "Jürgen Müller" in text and "PAT-FLOW-1" in text, text
        shot(page, "handed-out")
        # With a written reason, the superseded disc can be handed out, and the reason is kept.
        page.goto(f"{served.base}/jobs/{first}/handout")
        page.fill("input[name=recipient]", "Jürgen Müller")
        page.select_option("select[name=relation]", "patient")
        page.check("input[name=id_checked][value=yes]")
        page.fill("input[name=override]", "patient wants the first disc too")
        page.click("form.stack button[type=submit]")
        page.wait_for_url(re.compile(rf"/jobs/{first}\?handed=1$"))
        overrides = [e["detail"].get("override", "") for e in api_audit(page, served) if e["action"] == "handout"]
        assert f"superseded by job {complete}: patient wants the first disc too" in overrides
    finally:
        context.close()
