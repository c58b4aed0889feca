"""The first start (an admin with a generated password), the session secret, ``publisher user``,
and the start-up check that every route asks for a login."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from fastapi import APIRouter, Depends
from fastapi.routing import APIRoute

from publisher import cli
from publisher.db import migrate
from publisher.db.session import Database
from publisher.db.users import authenticate, list_users
from publisher.web.app import _refuse_unguarded, create_app
from publisher.web.auth import INITIAL_PASSWORD_FILE, SECRET_FILE, ensure_admin, load_secret
from publisher.web.context import require
from publisher.web.auth import Permission
from tests.support.web_site import Site, csrf_of


def test_first_start_creates_admin_with_a_password_only_the_owner_reads(tmp_path: Path, sqlite_url: str) -> None:
    db = Database(sqlite_url)
    migrate.upgrade(db.engine)
    data = tmp_path / "data"
    message = ensure_admin(db, data)
    path = data / INITIAL_PASSWORD_FILE
    assert message is not None and str(path.resolve()) in message and "user 'admin'" in message
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert len(password) >= 16 and password not in message  # the password is not printed to the log
    assert [(u.username, u.role.value) for u in list_users(db)] == [("admin", "admin")]
    again = ensure_admin(db, data)
    assert again is not None and "is in" in again and len(list_users(db)) == 1  # reminds, creates nobody
    # The admin logs in with it and chooses a password: the file goes away.
    app = create_app(db, data_dir=data)
    site = Site(db, app, None, tmp_path)  # type: ignore[arg-type]
    admin = site.login("admin", password)
    r = admin.post("/account/password", data={"csrf": csrf_of(admin.get("/account").text), "current": password,
                                              "new": "chosen-by-admin", "repeat": "chosen-by-admin"})
    assert r.status_code == 303 and not path.exists()
    assert "Your password was changed." in admin.get(r.headers["location"]).text
    assert ensure_admin(db, data) is None
    wrong = admin.post("/account/password", data={"csrf": csrf_of(admin.get("/account").text), "current": "not-it",
                                                  "new": "xxxxxxxxxx", "repeat": "xxxxxxxxxx"})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    db.dispose()


def test_session_secret_is_made_once_and_kept(tmp_path: Path, sqlite_url: str) -> None:
    first = load_secret(tmp_path)
    assert len(first) == 32 and load_secret(tmp_path) == first
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    # A session survives a restart of the service (same data directory, same secret).
    db = Database(sqlite_url)
    migrate.upgrade(db.engine)
    ensure_admin(db, tmp_path)
    password = (tmp_path / INITIAL_PASSWORD_FILE).read_text().strip()
    client = Site(db, create_app(db, data_dir=tmp_path), None, tmp_path).login("admin", password)  # type: ignore[arg-type]
    restarted = Site(db, create_app(db, data_dir=tmp_path), None, tmp_path).client()  # type: ignore[arg-type]
    restarted.cookies = client.cookies
    assert restarted.get("/api/jobs").status_code == 200
    other = Site(db, create_app(db, data_dir=tmp_path / "other"), None, tmp_path).client()  # type: ignore[arg-type]
    other.cookies = client.cookies
    assert other.get("/api/jobs").status_code == 401
    db.dispose()


def test_a_route_without_login_check_stops_the_start() -> None:
    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> str:
        return "patient data"

    @router.get("/checked")
    def checked(_: object = Depends(require(Permission.VIEW_JOBS))) -> str:
        return "fine"

    routes = [r for r in router.routes if isinstance(r, APIRoute)]
    _refuse_unguarded(routes[1:])
    with pytest.raises(RuntimeError, match="/forgotten has no login check"):
        _refuse_unguarded(routes)


def test_user_commands_add_list_passwd_disable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PUBLISHER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PUBLISHER_LOAD_SAMPLES", "false")
    monkeypatch.delenv("PUBLISHER_DATABASE_URL", raising=False)
    monkeypatch.delenv("PUBLISHER_CONFIG", raising=False)

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        return cli.main(list(argv))

    assert run("user", "add", "Dr.Ada", "--role", "radiologist", "--password-stdin", stdin="ada-password\n") == 0
    assert run("user", "add", "desk1", "--role", "frontdesk", "--password-stdin", stdin="desk-password\n") == 0
    with pytest.raises(SystemExit, match="exists already"):
        run("user", "add", "dr.ada", "--role", "admin", "--password-stdin", stdin="another-password\n")
    with pytest.raises(SystemExit, match="at least 8 characters"):
        run("user", "add", "shorty", "--role", "admin", "--password-stdin", stdin="short\n")
    capsys.readouterr()
    assert run("user", "list") == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in listing] == [["desk1", "frontdesk", "active"], ["dr.ada", "radiologist", "active"]]
    assert run("user", "passwd", "dr.ada", "--password-stdin", stdin="ada-new-password\n") == 0
    assert run("user", "disable", "desk1") == 0
    db = Database(f"sqlite:///{(tmp_path / 'publisher.db').resolve()}")
    assert authenticate(db, "dr.ada", "ada-new-password") is not None
    assert authenticate(db, "dr.ada", "ada-password") is None
    assert authenticate(db, "desk1", "desk-password") is None  # disabled
    db.dispose()
    assert run("user", "enable", "desk1") == 0
