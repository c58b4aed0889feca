"""The web API's OpenAPI schema: served only to logged-in users, every operation in it refuses
anonymous callers, and schemathesis, logged in, finds no server error (5xx) in a bounded run
against a real ``publisher serve`` with the demo studies loaded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from tests.support.web_site import USERS, csrf_of
from tests.support.served import Served, publisher_serve

pytestmark = [pytest.mark.interop]

#: The operations the schema lists that are open by design (docs/architecture.md: health checks, the login form).
PUBLIC = {("GET", "/health"), ("GET", "/login"), ("POST", "/login")}
#: Schemathesis examples in all (a few per operation), and at most this many per operation.
EXAMPLES = 300


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("api")
    env = {"PUBLISHER_JOBS_WORKER": "false", "PUBLISHER_LOAD_SAMPLES": "true"}  # demo studies: real rows to answer with
    with publisher_serve(tmp, env, users={name: USERS[name] for name in ("rad", "boss")}) as s:
        yield s


def _session(base: str, name: str) -> httpx.Client:
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    r = c.post("/login", data={"username": name, "password": USERS[name][1], "csrf": csrf_of(c.get("/login").text), "next": "/"})
    assert r.status_code == 303, r.text
    return c


def _operations(schema: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((method.upper(), path) for path, item in schema["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete"))


def test_schema_is_for_logged_in_users_and_every_operation_refuses_anonymous_callers(served: Served) -> None:
    anonymous = httpx.Client(base_url=served.base, follow_redirects=False, timeout=60)
    r = anonymous.get("/openapi.json")
    assert r.status_code == 401 and r.json() == {"detail": "login required"}
    assert anonymous.get("/docs").status_code == 303
    rad = _session(served.base, "rad")
    schema = rad.get("/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    operations = _operations(schema)
    assert len(operations) >= 20 and {("GET", "/api/patients"), ("GET", "/api/jobs")} <= set(operations)
    docs = rad.get("/docs")
    assert docs.status_code == 200 and all(f"<code>{p}</code>" in docs.text for _, p in operations if "{" not in p)
    assert PUBLIC <= set(operations)
    for method, path in operations:
        if (method, path) in PUBLIC:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        r = anonymous.request(method, url, data={"csrf": "x"} if method == "POST" else None)
        if path.startswith(("/api/", "/dicomweb/")):
            assert r.status_code == 401 and r.json() == {"detail": "login required"}, (method, path, r.status_code)
        elif method == "GET":
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), (method, path, r.status_code)
        else:
            assert r.status_code == 401, (method, path, r.status_code)


def test_schemathesis_logged_in_finds_no_server_error(served: Served) -> None:
    import schemathesis

    boss = _session(served.base, "boss")  # the admin may call every operation
    schema = schemathesis.openapi.from_dict(boss.get("/openapi.json").json())
    cookie = f"discpub_session={boss.cookies['discpub_session']}"
    errors: list[str] = []
    calls: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy())
    def check(case: Any) -> None:
        response = case.call(base_url=served.base, headers={"Cookie": cookie}, timeout=60)
        calls.append(response.status_code)
        if response.status_code >= 500:
            errors.append(f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}: {response.text[:200]}")

    check()
    assert not errors, errors[:10]
    assert len(calls) >= 100 and sum(1 for c in calls if c < 400) >= 20  # it got past the login, often
    assert boss.get("/api/jobs").status_code == 200  # and the admin's session survived the run
