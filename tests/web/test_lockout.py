"""Login lockout against a real ``publisher serve`` over HTTP (uvicorn decides which forwarded
headers count, so FastAPI's TestClient cannot show this): rotating X-Forwarded-For neither
escapes the lock of an account nor that of an address, a correct password with a forged header
does not log in while locked, an administrator unlocks (web page and CLI), and the audit log
shows the blocked attempts and the unlocks. With a trusted proxy configured its header counts,
and the account lock still holds."""

from __future__ import annotations

import html as h
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from publisher.db.logins import ACCOUNT_ATTEMPTS, ADDRESS_ATTEMPTS
from publisher.db.models import AuditEvent
from tests.support.web_site import USERS, Site, csrf_of
from tests.support.served import Served, publisher_serve

pytestmark = [pytest.mark.interop]


def _login(base: str, name: str, password: str, forwarded: str | None = None) -> tuple[httpx.Client, httpx.Response]:
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    form = c.get("/login")
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return c, c.post("/login", data={"username": name, "password": password, "csrf": csrf_of(form.text), "next": "/"},
                     headers=headers)


def _audit(served: Served, boss: httpx.Client, action: str) -> list[tuple[str, str, dict[str, object]]]:
    """(actor, subject, detail) of the audit page's rows of ``action``, newest first."""
    html = boss.get("/admin/audit", params={"action": action}).text
    rows = re.findall(r'<tr data-event="\d+"><td>[^<]*</td><td>([^<]*)</td><td>[^<]*</td><td>([^<]*)</td>.*?<pre>(.*?)</pre>',
                      html, re.S)
    return [(h.unescape(a), h.unescape(s), json.loads(h.unescape(d))) for a, s, d in rows]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with publisher_serve(tmp_path, {"PUBLISHER_JOBS_WORKER": "false"}, users=USERS) as s:
        yield s


def test_rotating_forwarded_for_does_not_escape_the_lockout(served: Served) -> None:
    boss, r = _login(served.base, "boss", USERS["boss"][1])
    assert r.status_code == 303
    for n in range(ACCOUNT_ATTEMPTS):
        _, r = _login(served.base, "rad", f"guess-{n}", forwarded=f"203.0.113.{n + 1}")
        assert r.status_code == 401
    # The right password, from yet another forged address: still locked, no session.
    c, r = _login(served.base, "rad", USERS["rad"][1], forwarded="198.51.100.7")
    assert r.status_code == 429 and "Too many failed attempts for this user name" in r.text
    assert "discpub_session" not in c.cookies and c.get("/api/jobs").status_code == 401
    failed = _audit(served, boss, "login-failed")
    assert {d["address"] for _, _, d in failed} == {"127.0.0.1"}  # the forged header was not believed
    blocked = _audit(served, boss, "login-blocked")
    assert blocked and blocked[0][0] == "rad" and blocked[0][2]["lock"] == "account" and blocked[0][2]["address"] == "127.0.0.1"
    # Other people are not locked out by it.
    assert _login(served.base, "desk", USERS["desk"][1])[1].status_code == 303

    # The administrator sees the lock on the Users page and lifts it.
    page = boss.get("/admin/users").text
    row = re.search(r'<tr data-user="rad">.*?</tr>', page, re.S)
    assert row is not None and "locked" in row.group(0) and "/admin/users/rad/unlock" in row.group(0)
    r = boss.post("/admin/users/rad/unlock", data={"csrf": csrf_of(page)})
    assert r.status_code == 303
    assert _login(served.base, "rad", USERS["rad"][1])[1].status_code == 303
    [(actor, subject, detail)] = _audit(served, boss, "login-unlock")
    assert (actor, subject) == ("boss", "user rad") and detail["failures_forgotten"] == ACCOUNT_ATTEMPTS


def test_guessing_names_locks_the_address_and_the_cli_unlocks_it_and_accounts(served: Served) -> None:
    boss, _ = _login(served.base, "boss", USERS["boss"][1])
    for n in range(ADDRESS_ATTEMPTS):
        _, r = _login(served.base, f"name{n}", "guess", forwarded=f"192.0.2.{n + 1}")
        assert r.status_code == 401
    _, r = _login(served.base, "desk", USERS["desk"][1], forwarded="192.0.2.200")
    assert r.status_code == 429 and "from your address" in r.text
    listed = served.cli("user", "unlock", "--address", "127.0.0.1")
    assert listed.returncode == 0 and "unlocked" in listed.stdout, listed.stderr
    assert _login(served.base, "desk", USERS["desk"][1])[1].status_code == 303
    [(_, subject, detail)] = _audit(served, boss, "login-unlock")
    assert subject == "address 127.0.0.1" and detail["via"] == "cli" and detail["failures_forgotten"] == ADDRESS_ATTEMPTS
    blocked = _audit(served, boss, "login-blocked")
    assert [(a, d["lock"]) for a, _, d in blocked] == [("desk", "address")]
    # An account lock, lifted from the command line.
    for n in range(ACCOUNT_ATTEMPTS):
        assert _login(served.base, "rad", f"guess-{n}")[1].status_code == 401
    assert "LOCKED" in next(line for line in served.cli("user", "list").stdout.splitlines() if line.startswith("rad "))
    assert _login(served.base, "rad", USERS["rad"][1])[1].status_code == 429
    r = served.cli("user", "unlock", "rad")
    assert r.returncode == 0 and f"{ACCOUNT_ATTEMPTS} failed login(s) forgotten" in r.stdout
    assert _login(served.base, "rad", USERS["rad"][1])[1].status_code == 303


def test_a_trusted_proxy_forwards_addresses_and_the_account_lock_still_holds(tmp_path: Path) -> None:
    with publisher_serve(tmp_path, {"PUBLISHER_JOBS_WORKER": "false", "PUBLISHER_HTTP_TRUSTED_PROXIES": "127.0.0.1"},
                         users=USERS) as served:
        boss, _ = _login(served.base, "boss", USERS["boss"][1])
        for n in range(ACCOUNT_ATTEMPTS):
            assert _login(served.base, "rad", f"guess-{n}", forwarded=f"10.1.0.{n + 1}")[1].status_code == 401
        assert _login(served.base, "rad", USERS["rad"][1], forwarded="10.1.0.99")[1].status_code == 429
        failed = _audit(served, boss, "login-failed")
        assert {d["address"] for _, _, d in failed} == {f"10.1.0.{n + 1}" for n in range(ACCOUNT_ATTEMPTS)}


def test_the_users_page_lists_locked_addresses_and_unlocks_them(sqlite_site: Site) -> None:
    from publisher.db import logins

    boss = sqlite_site.login("boss")
    for n in range(ADDRESS_ATTEMPTS):
        logins.record_failure(sqlite_site.db, f"nobody{n}", "testclient")
    assert Site.post_login(sqlite_site.client(), "rad", USERS["rad"][1]).status_code == 429  # type: ignore[attr-defined]
    page = boss.get("/admin/users").text
    form = re.search(r'<tr data-lock="testclient">.*?<form method="post" action="([^"]+)"', page, re.S)
    assert form is not None
    r = boss.post(h.unescape(form.group(1)), data={"csrf": csrf_of(page)})
    assert r.status_code == 303 and logins.lock_of(sqlite_site.db, "rad", "testclient") is None
    assert Site.post_login(sqlite_site.client(), "rad", USERS["rad"][1]).status_code == 303  # type: ignore[attr-defined]
    assert 'data-lock="' not in boss.get("/admin/users").text
    with sqlite_site.db.session() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "login-unlock")).all()
    assert (event.actor, event.subject) == ("boss", "address testclient")
