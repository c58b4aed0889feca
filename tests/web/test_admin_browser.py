"""The administrator's day in Chromium against a real ``publisher serve``, by clicks: a user
locked out by wrong passwords is unlocked and logs in; a role is changed; a rule is written,
dry-run (it lists what it would burn and leaves out the study already on disc), enabled after
the dry run, and the worker does not burn that study again. A German browser sees German
pages; times are shown in the configured zone. Screenshots go to the test's folder, or with
``SCREENSHOTS_DIR=docs/screenshots`` to the documentation's."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from publisher.db.logins import ACCOUNT_ATTEMPTS
from publisher.demo import samples
from tests.support.web_site import USERS
from tests.support.served import Served, publisher_serve

pytestmark = [pytest.mark.interop]

ZONE = "Asia/Tokyo"  # far from UTC and from the machine's zone, no daylight saving


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    site = tmp_path / "site.toml"
    site.write_text('[robot]\nkind = "simulator"\ntime_scale = 0.0\n', encoding="utf-8")
    env = {"PUBLISHER_CONFIG": str(site), "PUBLISHER_LOAD_SAMPLES": "true", "PUBLISHER_JOBS_WORKER": "true",
           "PUBLISHER_JOBS_TICK_SECONDS": "1", "PUBLISHER_JOBS_RUN_QUEUED": "false", "PUBLISHER_TIME_ZONE": ZONE}
    with publisher_serve(tmp_path, env, users=USERS) as s:
        yield s


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _login(page: Any, base: str, name: str, password: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")


def _poll(what: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_unlock_change_role_and_a_rule_with_a_dry_run(served: Served, chromium: Any, shots: Path) -> None:
    head, *others = samples.demo_studies()
    burn = served.cli("burn", "--study", head.uid, "--media", "cd", "-q")  # a disc of one study, done before the rule
    assert burn.returncode == 0, burn.stdout + burn.stderr
    context = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    locked = chromium.new_context(locale="en-GB")
    try:
        page, rad = context.new_page(), locked.new_page()
        for n in range(ACCOUNT_ATTEMPTS):  # rad forgets the password
            _login(rad, served.base, "rad", f"wrong-{n}")
        _login(rad, served.base, "rad", USERS["rad"][1])
        assert "Too many failed attempts" in rad.locator("p.error").inner_text()

        _login(page, served.base, "boss", USERS["boss"][1])
        page.goto(served.base + "/admin/users")
        row = page.locator('tr[data-user="rad"]')
        assert "locked" in row.inner_text()
        until = row.inner_text()
        assert "JST" in until, until  # the lock's end in the configured zone
        page.screenshot(path=str(shots / "admin-users.png"), full_page=True)
        row.locator("button", has_text="Unlock").click()
        assert "locked" not in page.locator('tr[data-user="rad"]').inner_text()
        _login(rad, served.base, "rad", USERS["rad"][1])
        rad.wait_for_url(served.base + "/studies")

        desk = page.locator('tr[data-user="desk"]')
        desk.locator("select[name=role]").select_option("radiologist")
        desk.locator("button", has_text="Change role").click()
        assert "desk is now radiologist." in page.locator("p.notice").inner_text()
        assert page.locator('tr[data-user="desk"] select[name=role]').input_value() == "radiologist"

        page.goto(served.base + "/admin/audit")
        events = page.locator("table.audit tbody tr")
        text = events.all_inner_texts()
        assert any("user-role" in r and "user desk" in r for r in text) and any("login-unlock" in r for r in text), text
        shown = dt.datetime.strptime(events.first.locator("td").first.inner_text(), "%Y-%m-%d %H:%M:%S JST")
        tokyo = dt.datetime.now(ZoneInfo(ZONE)).replace(tzinfo=None)
        assert abs((tokyo - shown).total_seconds()) < 600, (shown, tokyo)
        page.screenshot(path=str(shots / "admin-audit.png"), full_page=True)

        # A rule: written, dry-run, saved (off), enabled after its dry run.
        page.goto(served.base + "/admin/settings")
        page.click("text=New rule")
        page.fill("input[name=name]", "every-study")
        page.fill("input[name=quiet_minutes]", "0.05")
        page.click("button[value=dry-run]")
        listing = page.locator("section.dry-run")
        listed = listing.locator("table.dry-run tbody").inner_text()
        assert all(st.uid in listed for st in others) and head.uid not in listed, listed
        assert head.uid in listing.locator("ul.on-disc").inner_text()
        page.screenshot(path=str(shots / "admin-rule-dry-run.png"), full_page=True)
        page.click("button[value=save]")
        page.wait_for_url(served.base + "/admin/settings?saved=1#rules")
        assert page.locator('tr[data-rule="every-study"] .state').inner_text() == "off"
        page.screenshot(path=str(shots / "admin-settings.png"), full_page=True)
        page.locator('tr[data-rule="every-study"] button', has_text="Enable").click()
        assert head.uid in page.locator("ul.on-disc").inner_text()  # the dry run, before it is enabled
        page.screenshot(path=str(shots / "admin-rule-enable.png"), full_page=True)
        page.click("button.confirm-enable")
        page.wait_for_url(served.base + "/admin/settings?saved=1#rules")
        assert page.locator('tr[data-rule="every-study"] .state').inner_text() == "enabled"
        page.click("text=Edit the label template")
        assert 'disc_of = "Disc {k} of {n}"' in page.locator("textarea[name=template]").input_value()
        page.screenshot(path=str(shots / "admin-label-template.png"))
        stored = (served.data / "settings.toml").read_text(encoding="utf-8")
        assert 'name = "every-study"' in stored and "enabled = true" in stored

        # The running worker took the rule without a restart: one job per other study, none for head.
        def rule_jobs() -> list[dict[str, Any]]:
            jobs = json.loads(page.request.get(served.base + "/api/jobs").text())
            made = [j for j in jobs if j["created_by"] == "rule:every-study"]
            return made if len(made) >= len(others) else []

        made = _poll(rule_jobs)
        burned = {uid for j in made for uid in j["selection"]["studies"]}
        assert burned == {st.uid for st in others}, burned
        assert "rule 'every-study' queued" in served.log.read_text()
    finally:
        context.close()
        locked.close()


def test_a_german_browser_sees_german_pages(served: Served, chromium: Any, shots: Path) -> None:
    context = chromium.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(served.base + "/admin/settings")
        assert page.locator("html").get_attribute("lang") == "de"
        assert page.locator("form.login button").inner_text() == "Anmelden"
        assert "Benutzername" in page.locator("form.login").inner_text()
        page.fill("input[name=username]", "boss")
        page.fill("input[name=password]", USERS["boss"][1])
        page.click("form.login button[type=submit]")
        page.wait_for_url(served.base + "/admin/settings")
        nav = page.locator("nav").inner_text()
        assert all(w in nav for w in ("Untersuchungen", "Brennaufträge", "Benutzer", "Einstellungen", "Abmelden")), nav
        assert page.locator("h1").inner_text() == "Einstellungen"
        assert "Brennregeln" in page.locator("h2#rules").inner_text()
        page.screenshot(path=str(shots / "admin-settings-de.png"), full_page=True)
        page.goto(served.base + "/admin/users")
        assert "Rolle ändern" in page.locator("table.users").inner_text()
        page.goto(served.base + "/studies")
        assert page.locator("h1").inner_text() == "Untersuchungen"
        # The person's own choice wins over the browser's.
        page.goto(served.base + "/account")
        page.select_option("select[name=language]", "en")
        page.click("form[action='/account/language'] button")
        page.wait_for_url(served.base + "/account")
        assert page.locator("h1").inner_text() == "Account"
    finally:
        context.close()
