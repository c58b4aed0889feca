"""Login, sessions, roles and CSRF of the web UI (docs/architecture.md, section 7), on SQLite, PostgreSQL, MariaDB."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from publisher.db.models import AuditEvent, DiscJob
from publisher.db.users import add_user, authenticate, hash_password, verify_password
from publisher.web.auth import SESSION_COOKIE, Signer
from tests.support.web_site import USERS, Site, csrf_of


def _sample(path: str) -> str:
    """A concrete URL for a route path (any value will do: the request must not get that far)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_but_health_and_login_needs_a_session(site: Site) -> None:
    anonymous = site.client()
    checked = 0
    for route in site.app.state.routes:
        if route.path in ("/health", "/login"):
            continue
        url = _sample(route.path)
        for method in route.methods:
            r = anonymous.request(method, url, data={"csrf": "x"} if method == "POST" else None)
            if url.startswith(("/api/", "/dicomweb/")) or url == "/openapi.json":
                assert r.status_code == 401, (method, url, r.status_code)
                assert r.json() == {"detail": "login required"}
            elif method == "GET":
                assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), (url, r.status_code)
            else:
                assert r.status_code == 401, (method, url, r.status_code)
            checked += 1
    assert checked >= 20  # the pages and the API are all there
    assert anonymous.get("/health").json()["status"] == "ok"
    assert anonymous.get("/login").status_code == 200
    assert anonymous.get("/static/app.css").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 401  # the schema is for logged-in users only
    assert anonymous.get("/docs").status_code == 303
    # The redirect remembers where the person wanted to go, and login leads there.
    r = anonymous.get("/jobs?view=ready")
    assert r.headers["location"] == "/login?next=%2Fjobs%3Fview%3Dready"
    r = Site.post_login(anonymous, "desk", USERS["desk"][1], next_="/jobs?view=ready")
    assert r.status_code == 303 and r.headers["location"] == "/jobs?view=ready"  # type: ignore[attr-defined]
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/\t/evil.example"):
        r = Site.post_login(site.client(), "desk", USERS["desk"][1], next_=elsewhere)
        assert r.headers["location"] == "/jobs?view=ready", elsewhere  # type: ignore[attr-defined]  # the role's home


def test_wrong_password_unknown_user_and_disabled_user_are_refused(site: Site) -> None:
    c = site.client()
    for name, password in (("rad", "wrong-password"), ("nobody", "rad-password-1"), ("rad", "")):
        r = Site.post_login(c, name, password)
        assert r.status_code == 401 and "Wrong user name or password" in r.text  # type: ignore[attr-defined]
        assert SESSION_COOKIE not in c.cookies
        assert c.get("/api/jobs").status_code == 401
    add_user(site.db, "gone", "radiologist", "gone-password-1")
    gone = site.login("gone", "gone-password-1")
    assert gone.get("/api/jobs").status_code == 200
    boss = site.login("boss")
    r = boss.post("/admin/users/gone/disable", data={"csrf": csrf_of(boss.get("/admin/users").text)})
    assert r.status_code == 303
    assert gone.get("/api/jobs").status_code == 401  # the open session ends at once
    assert Site.post_login(site.client(), "gone", "gone-password-1").status_code == 401  # type: ignore[attr-defined]
    with site.db.session() as s:
        actions = [a for (a,) in s.execute(select(AuditEvent.action).order_by(AuditEvent.id))]
    assert actions.count("login-failed") == 4 and "user-disable" in actions


def test_login_is_throttled_after_repeated_failures(site: Site) -> None:
    c = site.client()
    for _ in range(5):
        assert Site.post_login(c, "rad", "not-it-at-all").status_code == 401  # type: ignore[attr-defined]
    r = Site.post_login(c, "rad", USERS["rad"][1])
    assert r.status_code == 429 and "Too many failed attempts" in r.text  # type: ignore[attr-defined]
    assert site.login("desk").get("/api/jobs").status_code == 200  # other users are not affected


def test_forged_expired_and_stale_sessions_are_refused(site: Site) -> None:
    rad = site.login("rad")
    token = rad.cookies[SESSION_COOKIE]
    payload, mac = token.split(".")
    forged = site.client()
    forged.cookies.set(SESSION_COOKIE, payload + "." + mac[:-2] + ("AA" if not mac.endswith("AA") else "BB"))
    assert forged.get("/api/jobs").status_code == 401
    other_secret = site.client()
    user = authenticate(site.db, "rad", USERS["rad"][1])
    assert user is not None
    other_secret.cookies.set(SESSION_COOKIE, Signer(b"k" * 32).issue(user))
    assert other_secret.get("/api/jobs").status_code == 401
    signer = site.app.state.web.signer
    expired = site.client()
    expired.cookies.set(SESSION_COOKIE, signer.issue(user, now=0))
    assert expired.get("/api/jobs").status_code == 401
    # A password change ends the other sessions of that user but keeps the one that changed it.
    second = site.login("rad")
    r = second.post("/account/password", data={"csrf": csrf_of(second.get("/account").text), "current": USERS["rad"][1],
                                               "new": "a-new-password", "repeat": "a-new-password"})
    assert r.status_code == 303
    assert rad.get("/api/jobs").status_code == 401 and second.get("/api/jobs").status_code == 200
    assert authenticate(site.db, "rad", "a-new-password") is not None


def test_logout_ends_the_session_in_the_browser(site: Site) -> None:
    rad = site.login("rad")
    r = rad.post("/logout", data={"csrf": csrf_of(rad.get("/jobs").text)})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert SESSION_COOKIE not in rad.cookies
    assert rad.get("/jobs").status_code == 303


def test_session_cookie_is_httponly_and_samesite_strict(site: Site) -> None:
    r = Site.post_login(site.client(), "rad", USERS["rad"][1])
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Path=/" in cookie
    page = site.login("rad").get("/jobs")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'self': no inline script
    assert "default-src 'self'" in page.headers["content-security-policy"] and page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"


def _jobs(site: Site) -> int:
    with site.db.session() as s:
        return int(s.scalar(select(func.count(DiscJob.id))) or 0)


def test_roles_decide_who_browses_burns_hands_out_and_manages_users(site: Site) -> None:
    from tests.support.web_site import WEB_STUDIES

    study = str(WEB_STUDIES[0].uid)
    desk, rad, boss = site.login("desk"), site.login("rad"), site.login("boss")
    # Front desk: sees jobs, not the index; cannot burn or manage users.
    assert desk.get("/jobs").status_code == 200 and desk.get("/api/jobs").status_code == 200
    assert desk.get("/studies").status_code == 403 and "may not browse" in desk.get("/studies").text
    assert desk.get("/api/patients").status_code == 403
    r = desk.post("/burn", data={"csrf": csrf_of(desk.get("/jobs").text), "study": study, "media": "cd", "copies": "1"})
    assert r.status_code == 403 and _jobs(site) == 0
    assert desk.get("/admin/users").status_code == 403 and desk.get("/admin/audit").status_code == 403
    # Radiologist: browses and burns; no users, no audit log.
    assert rad.get("/studies").status_code == 200 and rad.get("/api/patients").status_code == 200
    r = rad.post("/burn", data={"csrf": csrf_of(rad.get("/studies").text), "study": study, "media": "cd", "copies": "1"})
    assert r.status_code == 303 and _jobs(site) == 1
    assert rad.get("/admin/users").status_code == 403
    r = rad.post("/admin/users", data={"csrf": csrf_of(rad.get("/studies").text), "username": "mallory",
                                       "role": "admin", "password": "mallory-pass", "repeat": "mallory-pass"})
    assert r.status_code == 403 and Site.post_login(site.client(), "mallory", "mallory-pass").status_code == 401  # type: ignore[attr-defined]
    # Admin: manages users, and the new user can log in with the role given.
    r = boss.post("/admin/users", data={"csrf": csrf_of(boss.get("/admin/users").text), "username": "Nurse.Kim",
                                        "role": "frontdesk", "password": "kim-password", "repeat": "kim-password"})
    assert r.status_code == 200 and "User nurse.kim (front desk) added." in r.text
    kim = site.login("nurse.kim", "kim-password")
    assert kim.get("/studies").status_code == 403 and kim.get("/jobs").status_code == 200
    r = boss.post("/admin/users", data={"csrf": csrf_of(boss.get("/admin/users").text), "username": "nurse.kim",
                                        "role": "frontdesk", "password": "kim-password", "repeat": "kim-password"})
    assert r.status_code == 400 and "exists already" in r.text
    r = boss.post("/admin/users", data={"csrf": csrf_of(boss.get("/admin/users").text), "username": "x y",
                                        "role": "superuser", "password": "short", "repeat": "short"})
    assert r.status_code == 400 and "user name" in r.text
    r = boss.post("/admin/users/boss/disable", data={"csrf": csrf_of(boss.get("/admin/users").text)})
    assert r.status_code == 400 and "cannot disable yourself" in r.text


def test_post_without_or_with_a_foreign_csrf_token_is_refused(site: Site) -> None:
    from tests.support.web_site import WEB_STUDIES

    rad, other = site.login("rad"), site.login("boss")
    form = {"study": str(WEB_STUDIES[0].uid), "media": "cd", "copies": "1"}
    for token in (None, "", "guess", csrf_of(other.get("/jobs").text)):
        data = form if token is None else form | {"csrf": token}
        r = rad.post("/burn", data=data)
        assert r.status_code == 403 and "security token (CSRF)" in r.text, token
    assert _jobs(site) == 0
    # JSON or multipart instead of a form: refused, not guessed at.
    r = rad.post("/burn", json=form | {"csrf": csrf_of(rad.get("/studies").text)})
    assert r.status_code == 415
    # The login form has its own token: a login posted from elsewhere is refused.
    r = site.client().post("/login", data={"username": "rad", "password": USERS["rad"][1], "csrf": "forged"})
    assert r.status_code == 403 and SESSION_COOKIE not in r.cookies
    assert _jobs(site) == 0 and rad.post("/burn", data=form | {"csrf": csrf_of(rad.get("/studies").text)}).status_code == 303


def test_password_hashes_are_salted_scrypt() -> None:
    a, b = hash_password("same password"), hash_password("same password")
    assert a != b and a.startswith("scrypt$16384$8$1$")
    assert verify_password("same password", a) and verify_password("same password", b)
    assert not verify_password("Same password", a) and not verify_password("same password", "plain")
