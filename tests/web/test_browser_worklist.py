"""Issue 14, the radiologist's flows in Chromium against a real ``publisher serve``, by clicks:
300 studies sent by two modalities show newest arrival first, page by page, filtered by sending
AE and modality; studies of two patients ticked give two disc jobs unless the person chooses one
disc for both and confirms it, naming them. Each page is photographed (docs/screenshots/ when
``PUBLISHER_SCREENSHOTS`` names that folder)."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from publisher.demo import samples
from tests.support.browser_flows import RAD_USERS, browser_login, screenshot
from tests.support.served import Served, publisher_serve
from tests.support.tools import require_tool

pytestmark = [pytest.mark.interop]

DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}
CONFIG = '[dicom]\nallowed_callers = ["CT_ROOM1", "MR_ROOM2"]\n'


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with publisher_serve(tmp_path, {"PUBLISHER_JOBS_WORKER": "false"}, CONFIG, users=RAD_USERS) as served:
        yield served


def _send(served: Served, files: list[Path], aet: str) -> None:
    port = served.env["PUBLISHER_DICOM_PORT"]
    done = subprocess.run(["/usr/bin/storescu", "-aet", aet, "-aec", "DISCPUB", "127.0.0.1", port, *map(str, files)],
                          capture_output=True, text=True, env=DCMTK_ENV, timeout=600)
    assert done.returncode == 0, done.stderr


def _study(n: int, kind: str, patient: samples.PatientSpec | None = None) -> samples.StudySpec:
    # Study dates run backwards: the newest arrival is the oldest examination (a prior, sent today).
    who = patient or samples.PatientSpec(f"Patient{n:03d}^Test", f"PID{n:03d}")
    return samples.StudySpec(who, f"wl{n:03d}", f"Study {n:03d}", f"{2025 - n // 40:04d}{1 + n % 12:02d}15",
                             series=(samples.SeriesSpec(kind, 1, 1, kind, 16, 16),))






def test_300_studies_newest_arrival_first_paged_and_filtered(served: Served, chromium: Any, tmp_path: Path) -> None:
    require_tool("storescu")
    specs = [_study(n, "ct" if n < 150 else "mr") for n in range(300)]
    files = [f for s in specs for f in samples.write_study(s, tmp_path / "in" / s.key)]
    _send(served, files[:150], "CT_ROOM1")
    _send(served, files[150:], "MR_ROOM2")
    context, page = browser_login(served, chromium, tmp_path)
    try:
        page.reload()
        rows = page.locator("tr[data-study]")
        assert rows.count() == 50
        # The last study sent is on top although its study date is the oldest.
        assert rows.first.locator(".pname").inner_text() == "Patient299, Test"
        assert rows.nth(49).locator(".pname").inner_text() == "Patient250, Test"
        first = rows.first.inner_text()
        assert "MR" in first and "MR_ROOM2" in first and "2018-12-15" in first
        assert "Studies 1–50 of 300" in page.locator("p.pager").first.inner_text()
        times = [t.strip() for t in page.locator("td.received").all_inner_texts()]
        assert times == sorted(times, reverse=True) and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", t) for t in times)
        screenshot(page, tmp_path, "studies-worklist")
        page.locator("p.pager").first.get_by_role("link", name="Older").click()
        page.wait_for_url(re.compile(r"page=2"))
        assert page.locator("tr[data-study]").first.locator(".pname").inner_text() == "Patient249, Test"
        for _ in range(4):
            page.locator("p.pager").first.get_by_role("link", name="Older").click()
        page.wait_for_url(re.compile(r"page=6"))
        assert page.locator("tr[data-study]").last.locator(".pname").inner_text() == "Patient000, Test"
        assert page.locator("p.pager").first.get_by_role("link", name="Older").count() == 0
        # Filters: the sending AE, then the modality.
        page.goto(served.base + "/studies")
        page.fill("input[name=ae]", "CT_ROOM1")
        page.click("form.search button[type=submit]")
        assert "of 150" in page.locator("p.pager").first.inner_text()
        assert page.locator("tr[data-study]").first.locator(".pname").inner_text() == "Patient149, Test"
        page.fill("input[name=ae]", "")
        page.select_option("select[name=modality]", "MR")
        page.click("form.search button[type=submit]")
        assert "of 150" in page.locator("p.pager").first.inner_text()
        assert set(page.locator("td.mods").all_inner_texts()) == {"MR"}
    finally:
        context.close()


def test_two_patients_give_two_discs_unless_one_disc_is_confirmed(served: Served, chromium: Any, tmp_path: Path) -> None:
    require_tool("storescu")
    specs = [samples.demo_studies(ct_slices=2)[0], samples.demo_studies()[1]]  # Müller and Иванова
    _send(served, [f for s in specs for f in samples.write_study(s, tmp_path / "in" / s.key)], "CT_ROOM1")
    context, page = browser_login(served, chromium, tmp_path)
    try:
        page.reload()
        for spec in specs:
            page.check(f'tr[data-study="{spec.uid}"] input[name=study]')
        page.click("form.burn button[type=submit]")
        assert "2 patient(s), 2 disc job(s)" in page.locator("p.summary").inner_text()
        sets = page.locator("tr.discset")
        assert sets.count() == 2 and "CD-R" in sets.first.locator(".media").inner_text()  # automatic: the smallest
        page.wait_for_function("() => [...document.querySelectorAll('img.label-preview')].every(i => i.naturalWidth > 0)")
        screenshot(page, tmp_path, "burn-preview")
        page.click("form.burn-confirm button[type=submit]")
        page.wait_for_url(re.compile(r"/jobs\?created=\d+,\d+$"))
        jobs = page.locator("tr[data-job]")
        assert jobs.count() == 2
        texts = jobs.all_inner_texts()
        assert sum("Müller, Jürgen" in t for t in texts) == 1 and sum("Иванова, Мария" in t for t in texts) == 1
        assert not any("Müller, Jürgen" in t and "Иванова, Мария" in t for t in texts)

        # Both on one disc: an explicit choice that names them and must be confirmed.
        page.goto(served.base + "/studies")
        for spec in specs:
            page.check(f'tr[data-study="{spec.uid}"] input[name=study]')
            assert "#" in page.locator(f'tr[data-study="{spec.uid}"] td.ondisc').inner_text()  # already on a job
        page.fill("input[name=copies]", "12")
        page.click("form.burn button[type=submit]")
        page.click("text=Put all 2 patients on one disc…")
        names = page.locator("ul.together").inner_text()
        assert "Müller, Jürgen (PAT-LAT1)" in names and "Иванова, Мария (PAT-CYR)" in names
        assert "12 copies of each disc" in page.locator("ul.warnings").inner_text()
        assert page.locator("tr.discset").count() == 1
        screenshot(page, tmp_path, "burn-preview-one-disc")
        page.click("form.burn-confirm button[type=submit]")  # nothing ticked: refused, nothing queued
        assert "Tick the confirmation to put 2 patients on one disc" in page.locator("p.error").inner_text()
        page.check("input[name=together_ok]")
        page.click("form.burn-confirm button[type=submit]")
        assert "Tick the confirmation below the warnings" in page.locator("p.error").inner_text()
        page.check("input[name=together_ok]")
        page.check("input[name=confirm]")
        page.click("form.burn-confirm button[type=submit]")
        page.wait_for_url(re.compile(r"/jobs/\d+\?created=1$"))
        shown = page.content()
        assert "Müller, Jürgen" in shown and "Иванова, Мария" in shown
        page.goto(served.base + "/jobs")
        assert page.locator("tr[data-job]").count() == 3
    finally:
        context.close()
