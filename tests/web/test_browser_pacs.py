"""Issue 14, PACS in the UI, in Chromium against a real ``publisher serve`` and a real Orthanc:
find a patient's studies at the remote, "retrieve and burn" them in one action, watch the
retrieval's progress, and find the disc job of the retrieved study."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from publisher.demo import samples
from tests.support.browser_flows import browser_login, screenshot
from tests.support.net import free_port
from tests.support.peers import orthanc, orthanc_upload
from tests.support.served import Served, publisher_serve
from tests.support.tools import require_tool

pytestmark = [pytest.mark.interop]

USERS = {"rad": ("radiologist", "rad-password-1")}


@pytest.fixture
def pacs(tmp_path: Path) -> Iterator[tuple[Served, int]]:
    require_tool("Orthanc")
    our_port = free_port()
    with orthanc(tmp_path / "orthanc", "DISCPUB", our_port) as (port, http):
        config = (f'[dicom]\nallowed_callers = ["ORTHANC"]\n'
                  f'remotes = [{{ ae_title = "ORTHANC", host = "127.0.0.1", port = {port}, retrieve = "move" }}]\n')
        env = {"PUBLISHER_DICOM_PORT": str(our_port), "PUBLISHER_JOBS_WORKER": "false"}
        with publisher_serve(tmp_path, env, config, users=USERS) as served:
            yield served, http


def test_find_at_orthanc_then_retrieve_and_burn(pacs: tuple[Served, int], chromium: Any, tmp_path: Path) -> None:
    served, http = pacs
    wanted, other = samples.demo_studies(ct_slices=6)[0], samples.demo_studies(ct_slices=2)[2]
    orthanc_upload(http, [f for s in (wanted, other) for f in samples.write_study(s, tmp_path / "in" / s.key)])
    context, page = browser_login(served, chromium, tmp_path)
    try:
        assert page.locator("tr[data-study]").count() == 0  # our archive is empty
        page.click("nav >> text=Remote PACS")
        page.select_option("select[name=remote]", "ORTHANC")
        page.fill("input[name=pid]", "PAT-LAT1")
        page.click("form.search button[type=submit]")
        rows = page.locator("tr[data-remote-study]")
        assert rows.count() == 1 and rows.first.locator(".pname").inner_text() == "Müller, Jürgen"
        screenshot(page, tmp_path, "pacs-query")
        rows.first.locator("input[name=study]").check()
        page.click("button[name=burn][value='1']")
        page.wait_for_url(re.compile(r"/pacs/retrievals/\d+$"))
        # The page reloads itself each second while the retrieval runs; expect() polls across reloads.
        expect(page.locator(".state")).not_to_have_text("running", timeout=120_000)
        assert page.locator(".state").inner_text() == "done", page.locator(".message").inner_text()
        assert "7 retrieved by C-MOVE, 0 failed" in page.locator(".message").inner_text()  # 6 CT + the report
        screenshot(page, tmp_path, "pacs-retrieval")
        page.click("ul.jobs a")
        page.wait_for_url(re.compile(r"/jobs/\d+$"))
        assert "Müller, Jürgen" in page.content() and "山田" not in page.content()
        page.goto(served.base + "/studies")
        assert page.locator("tr[data-study]").count() == 1
        assert "#" in page.locator("td.ondisc").first.inner_text()
    finally:
        context.close()
