"""The web UI in Chromium, against ``publisher serve`` started as ``make run`` starts it: the
first admin logs in with the generated password, finds a study, burns it, watches the job's
progress change on the jobs page without reloading it, and records the hand-out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pytest

from tests.support.served import Served, publisher_serve

pytestmark = [pytest.mark.interop]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    env = {
        "PUBLISHER_LOAD_SAMPLES": "true",  # as make run: demo studies into the empty archive
        "PUBLISHER_JOBS_WORKER": "true",
        "PUBLISHER_JOBS_TICK_SECONDS": "1",
    }
    # The simulator at a pace where a burn takes seconds, so the page has progress to show.
    with publisher_serve(tmp_path, env, '[robot]\nkind = "simulator"\ntime_scale = 0.02\n') as served:
        yield served


#: Records every state and percentage the jobs page shows for one row, and marks the document
#: so a reload (a new document) would be noticed.
WATCH = """jobId => {
  window.sameDocument = true;
  const row = document.querySelector(`tr[data-job="${jobId}"]`);
  window.seen = [[row.querySelector('.state').textContent, row.querySelector('.pct').textContent]];
  new MutationObserver(() => {
    const s = [row.querySelector('.state').textContent, row.querySelector('.pct').textContent];
    const last = window.seen[window.seen.length - 1];
    if (s[0] !== last[0] || s[1] !== last[1]) window.seen.push(s);
  }).observe(row, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def test_login_select_a_study_burn_and_watch_the_progress(served: Served, chromium: Any) -> None:
    output = served.log.read_text()
    assert "Web UI: no users yet, so user 'admin' was created" in output, output
    password = (served.data / "initial-admin-password").read_text().strip()
    # One browser for the whole run (tests/conftest.py), a context of this test's own.
    context = chromium.new_context(locale="en-GB")  # English pages (German ones: test_admin_browser.py)
    try:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        # Script errors and CSP violations; not the 401 of the wrong password tried on purpose.
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

        page.goto(served.base + "/studies")
        assert "/login?next=%2Fstudies" in page.url  # not logged in: the login page first
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        assert "Wrong user name or password" in page.locator("p.error").inner_text()
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(served.base + "/studies")

        page.fill("input[name=name]", "иванова")
        page.click("form.search button[type=submit]")
        rows = page.locator("tr[data-study]")
        assert rows.count() == 1 and rows.first.locator(".pname").inner_text() == "Иванова, Мария"
        rows.first.locator("input[name=study]").check()
        page.select_option("select[name=media]", "cd")
        page.fill("input[name=copies]", "2")
        page.fill("input[name=comment]", "Für Frau Иванова")
        page.click("form.burn button[type=submit]")
        page.click("form.burn-confirm button[type=submit]")  # the preview: one patient, one disc
        page.wait_for_url(re.compile(r"/jobs/\d+\?created=1$"))
        job_id = int(re.search(r"/jobs/(\d+)", page.url).group(1))  # type: ignore[union-attr]
        assert "The disc job is queued." in page.content()

        page.goto(served.base + "/jobs")
        page.evaluate(WATCH, job_id)
        # A function, not a string: the page's Content-Security-Policy forbids eval.
        page.wait_for_function("id => document.querySelector(`tr[data-job=\"${id}\"] .state`).textContent === 'done'",
                               arg=job_id, timeout=180_000)
        seen = page.evaluate("window.seen")
        assert page.evaluate("window.sameDocument") is True, "the jobs page reloaded instead of updating"
        assert len({s for s, _ in seen}) >= 2, seen  # the state changed in place, e.g. burning -> done
        assert seen[-1] == ["done", "100%"], seen
        row = page.locator(f'tr[data-job="{job_id}"]')
        assert "Иванова, Мария" in row.inner_text() and "Für Frau Иванова" in row.inner_text()

        page.click(f'tr[data-job="{job_id}"] a')
        page.click("text=Hand out disc(s)")
        page.fill("input[name=recipient]", "Мария Иванова")
        page.select_option("select[name=relation]", "patient")
        page.check("input[name=id_checked][value=yes]")
        page.click("form.stack button[type=submit]")
        page.wait_for_url(re.compile(rf"/jobs/{job_id}\?handed=1$"))
        assert "Мария Иванова" in page.locator("table.handouts").inner_text()
        assert not problems, problems
        assert failed == [f"401 {served.base}/login"], failed
    finally:
        context.close()
