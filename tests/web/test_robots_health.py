"""Several robots: the status panel in words (a fault says what to do next), ``[[robots]]`` in
the settings beside the single ``[robot]`` of older configurations, a job burning on the robot
it names, and ``/health`` answering 503 naming the part that is down."""

from __future__ import annotations

from pathlib import Path

import robot_drivers
from robot_drivers import Fault

from publisher import health
from publisher.config.load import load_settings
from publisher.db.session import Database
from publisher.jobs.disc_job import JobContext, create_job, run_job
from publisher.jobs.records import Selection
from publisher.jobs.robots import RobotBoard, explain
from tests.support.web_site import WEB_STUDIES, USERS, Site, csrf_of


def test_robot_errors_read_as_words_with_a_next_step() -> None:
    advice = explain("EmptyInputBin: simulator: input bin empty")
    assert advice is not None
    assert advice.message.startswith("The input bin has no blank discs left")
    assert "Fill the input bin" in advice.next_step
    assert explain("planning: the study does not fit on a CD") is None  # already in words


def test_single_robot_config_stays_valid_and_more_robots_are_named(tmp_path: Path) -> None:
    old = tmp_path / "old.toml"
    old.write_text('[robot]\nkind = "simulator"\ntime_scale = 0.0\n', encoding="utf-8")
    settings = load_settings(old, {})
    assert settings.robot == "simulator" and settings.robot_options == (("time_scale", 0.0),) and settings.robots == ()
    more = tmp_path / "more.toml"
    more.write_text('[robot]\nkind = "simulator"\n\n[[robots]]\nname = "annex"\nkind = "simulator"\n'
                    'options = { time_scale = 0.0, blanks = 5 }\n\n[[rules]]\nname = "ct"\nrobot = "annex"\n',
                    encoding="utf-8")
    settings = load_settings(more, {})
    assert [(r.name, r.kind, r.options) for r in settings.robots] == [("annex", "simulator", {"time_scale": 0.0, "blanks": 5})]
    assert settings.rules[0].robot == "annex"


def test_a_job_burns_on_the_robot_it_names(sqlite_site: Site) -> None:
    site = sqlite_site
    default = robot_drivers.create("simulator", time_scale=0.0)
    annex = robot_drivers.create("simulator", name="annex", time_scale=0.0)
    ctx = JobContext(site.db, site.archive.root, site.tmp / "jobs", default, robots={"annex": annex})
    job = create_job(site.db, Selection(studies=[str(WEB_STUDIES[0].uid)]), copies=2, robot="annex")
    assert run_job(ctx, job).value == "done"
    assert len(annex.ledger.records) == 2 and not default.ledger.records  # type: ignore[attr-defined]
    lost = create_job(site.db, Selection(studies=[str(WEB_STUDIES[0].uid)]), robot="gone")
    assert run_job(ctx, lost).value == "failed"
    with site.db.session() as s:
        from publisher.archive import lookup

        row = lookup.disc_job(s, lost)
        assert row is not None and "no robot 'gone' is configured" in row.error


def _app(site: Site, board: RobotBoard, db: Database) -> object:
    from publisher.web.app import create_app

    def report() -> dict[str, object]:
        return health.report([*health.robots(board), health.disk(site.tmp, 0), health.database(db)])

    return create_app(db, secret=b"k" * 32, robots=lambda: board, health=report)


def test_status_panel_and_health_name_what_is_down(sqlite_site: Site) -> None:
    site = sqlite_site
    from fastapi.testclient import TestClient

    default = robot_drivers.create("simulator", time_scale=0.0, blanks=3)
    annex = robot_drivers.create("simulator", name="annex", time_scale=0.0)
    board = RobotBoard(default, {"annex": annex})
    client = TestClient(_app(site, board, site.db), follow_redirects=False)  # type: ignore[arg-type]
    assert client.get("/health").status_code == 200 and client.get("/health").json()["status"] == "ok"
    annex.inject(Fault.OFFLINE)  # type: ignore[attr-defined]
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["down"] == ["robot:annex"], r.json()
    assert r.json()["parts"]["database"]["ok"] and r.json()["parts"]["disk"]["free_bytes"] > 0
    form = client.get("/login")
    client.post("/login", data={"username": "rad", "password": USERS["rad"][1], "csrf": csrf_of(form.text), "next": "/"})
    panel = client.get("/robots").text
    assert "Few blank discs are left." in panel and "Fill the input bin before a long job." in panel
    assert "The robot or its vendor software does not answer." in panel and "Switch the robot on" in panel
    assert "EmptyInputBin" not in panel
    robots = client.get("/api/robots").json()
    assert [(r["name"], r["online"], r["blanks_left"]) for r in robots] == [("simulator", True, [3]), ("annex", False, [])]
