"""Settings changed on the Settings page reach the running ``publisher serve`` without a
restart: an allowed caller added there can associate at once (DCMTK echoscu), removed it is
rejected again; the file in the data directory holds the change and is what a restart reads;
a wrong value is refused with the reason and leaves the file as it was."""

from __future__ import annotations

import html as h
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from publisher.config import load_settings
from tests.support.web_site import USERS, csrf_of
from tests.support.served import Served, publisher_serve

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


def test_the_label_template_edited_in_the_ui_is_what_the_next_label_uses(served: Served) -> None:
    from publisher.jobs import labels as job_labels

    boss = httpx.Client(base_url=served.base, timeout=60, follow_redirects=True)
    boss.post("/login", data={"username": "boss", "password": USERS["boss"][1], "csrf": csrf_of(boss.get("/login").text),
                              "next": "/"})
    form = boss.get("/admin/settings/label").text
    shipped = h.unescape(re.search(r'<textarea name="template"[^>]*>(.*?)</textarea>', form, re.S).group(1))  # type: ignore[union-attr]
    assert 'disc_of = "Disc {k} of {n}"' in shipped
    site = served.data / job_labels.SITE_TEMPLATE

    r = boss.post("/admin/settings/label", data={"csrf": csrf_of(form), "template": shipped + "\n[[top]]\nfield = \"nonsense\"\n"})
    assert r.status_code == 400 and "nonsense" in r.text and not site.exists()

    mine = shipped.replace('disc_of = "Disc {k} of {n}"', 'disc_of = "Scheibe {k}/{n}"')
    r = boss.post("/admin/settings/label", data={"csrf": csrf_of(form), "template": mine})
    assert r.status_code == 200 and "Saved; the next label uses it." in r.text and site.read_text(encoding="utf-8") == mine
    job_labels.use_site_template(site)  # as publisher serve does with its data directory
    try:
        assert job_labels.current_template().text("disc_of") == "Scheibe {k}/{n}"
        boss.post("/admin/settings/label/reset", data={"csrf": csrf_of(form)})
        assert not site.exists() and job_labels.current_template().text("disc_of") == "Disc {k} of {n}"
    finally:
        job_labels.use_site_template(None)
