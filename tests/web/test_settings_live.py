"""Settings changed on the Settings page reach the running ``publisher serve`` without a
restart: an allowed caller added there can associate at once (DCMTK echoscu), removed it is
rejected again; the file in the data directory holds the change and is what a restart reads;
a wrong value is refused with the reason and leaves the file as it was."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from publisher.config import load_settings
from tests.web.conftest import USERS, csrf_of
from tests.web.served import Served, publisher_serve

pytestmark = [pytest.mark.interop]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with publisher_serve(tmp_path, {"PUBLISHER_JOBS_WORKER": "false"}, users=USERS) as s:
        yield s


def _echo(served: Served, calling: str) -> bool:
    ae = httpx.get(served.base + "/health").json()["ae_title"]
    r = subprocess.run(["/usr/bin/echoscu", "-aet", calling, "-aec", ae, "127.0.0.1", served.env["PUBLISHER_DICOM_PORT"]],
                       capture_output=True, text=True, timeout=60)
    return r.returncode == 0


def test_an_allowed_caller_added_in_the_ui_may_associate_at_once(served: Served) -> None:
    boss = httpx.Client(base_url=served.base, timeout=60, follow_redirects=True)
    boss.post("/login", data={"username": "boss", "password": USERS["boss"][1], "csrf": csrf_of(boss.get("/login").text),
                              "next": "/"})
    csrf = csrf_of(boss.get("/admin/settings").text)
    assert not _echo(served, "WARDPC")

    r = boss.post("/admin/settings/callers/add", data={"csrf": csrf, "ae_title": "WARDPC", "services": ["echo"]})
    assert r.status_code == 200 and "Saved and applied." in r.text and 'data-caller="WARDPC"' in r.text
    assert _echo(served, "WARDPC")
    file = served.data / "settings.toml"
    stored = tomllib.loads(file.read_text(encoding="utf-8"))
    assert {"ae_title": "WARDPC", "services": ["echo"]} in stored["dicom"]["allowed_callers"]
    restarted = load_settings(environ=served.env)  # what the next start reads
    assert any(c.ae_title == "WARDPC" for c in restarted.dicom.allowed_callers)

    r = boss.post("/admin/settings/callers/add", data={"csrf": csrf, "ae_title": "A" * 17, "services": ["echo"]})
    assert r.status_code == 400 and "AAAAAAAAAAAAAAAAA" in r.text
    assert tomllib.loads(file.read_text(encoding="utf-8")) == stored

    index = [c["ae_title"] for c in stored["dicom"]["allowed_callers"]].index("WARDPC")
    r = boss.post(f"/admin/settings/callers/remove?index={index}", data={"csrf": csrf})
    assert r.status_code == 200 and 'data-caller="WARDPC"' not in r.text
    assert not _echo(served, "WARDPC")
    events = boss.get("/admin/audit", params={"action": "settings-change"}).text
    assert events.count('<tr data-event="') == 2  # the two changes; the refused one is not one

    # Another role may not change settings.
    rad = httpx.Client(base_url=served.base, timeout=60)
    rad.post("/login", data={"username": "rad", "password": USERS["rad"][1], "csrf": csrf_of(rad.get("/login").text),
                             "next": "/"})
    assert rad.get("/admin/settings").status_code == 403
    assert rad.get("/admin/settings.toml").status_code == 403
