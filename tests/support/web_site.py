"""The web app under FastAPI's TestClient on a loaded archive: users of each role, hostile study text, CSRF."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

import robot_drivers
from publisher.archive.ingest import Archive
from publisher.db import migrate
from publisher.db.session import Database
from publisher.db.users import add_user
from publisher.demo import samples
from publisher.jobs.disc_job import JobContext

EVIL_PATIENT = samples.PatientSpec("<script>alert('pn')</script>^Eve", "PAT-XSS", "19700101", "F", "ISO_IR 192")


EVIL_STUDY = samples.StudySpec(EVIL_PATIENT, "evil", "<img src=x onerror=alert('desc')>", "20251231", "120000", "ACC666",
                               series=(samples.SeriesSpec("ct", 1, 1, "<b>bold</b>", 32, 32),))


#: user name -> (role, password)
USERS = {
    "rad": ("radiologist", "rad-password-1"),
    "desk": ("frontdesk", "desk-password-1"),
    "boss": ("admin", "boss-password-1"),
}


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m is not None, "no CSRF token on the page"
    return m.group(1)


@dataclass
class Site:
    db: Database
    app: FastAPI
    archive: Archive
    tmp: Path

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def login(self, username: str, password: str | None = None) -> TestClient:
        """A client logged in as ``username`` through the login form."""
        c = self.client()
        r = self.post_login(c, username, USERS[username][1] if password is None else password)
        assert r.status_code == 303, r.text
        return c

    @staticmethod
    def post_login(c: TestClient, username: str, password: str, next_: str = "/") -> object:
        form = c.get("/login")
        return c.post("/login", data={"username": username, "password": password, "csrf": csrf_of(form.text), "next": next_})

    def job_context(self) -> JobContext:
        return JobContext(self.db, self.archive.root, self.tmp / "jobs", robot_drivers.create("simulator", time_scale=0.0))

    def study_uid(self, spec: samples.StudySpec) -> str:
        return str(spec.uid)


WEB_STUDIES = samples.demo_studies(ct_slices=2) + [EVIL_STUDY]


def make_site(tmp: Path, url: str) -> Site:
    from publisher.web.app import create_app

    db = Database(url)
    migrate.upgrade(db.engine)
    archive = Archive(tmp / "archive", db)
    for study in WEB_STUDIES:
        for p in samples.write_study(study, tmp / "in" / study.key):
            archive.store_file(p)
    for name, (role, password) in USERS.items():
        add_user(db, name, role, password, created_by="test")
    return Site(db, create_app(db, data_dir=tmp / "data"), archive, tmp)


def logged_in_client(app: FastAPI, db: Database, role: str = "radiologist") -> TestClient:
    """A TestClient of ``app`` logged in as a new user of ``role`` (for tests outside tests/web
    that read the JSON API, which needs a session)."""
    name, password = f"test-{role}", f"{role}-test-password"
    add_user(db, name, role, password, created_by="test")
    client = TestClient(app)
    r = client.post("/login", data={"username": name, "password": password, "csrf": csrf_of(client.get("/login").text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client

