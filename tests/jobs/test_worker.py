"""The job worker: quiet studies become burned discs on the simulator robot, unattended.

The worker runs for real (APScheduler ticking every 0.2 s, jobs mastered and burned on the
timing simulator); only the rules' clock is moved ahead, so studies are quiet at once. The last
test runs ``publisher serve`` itself, kills it mid-burn and starts it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import robot_drivers
from sqlalchemy import select

from publisher.demo import samples
from publisher.config import DiscRule
from publisher.db.models import DiscJob, Instance, Series, Study, utcnow
from publisher.jobs.disc_job import create_job, recover
from publisher.jobs.selection import Selection
from tests.support.net import free_port
from tests.support.jobs import CT_A, CT_B, MR_C, RulesSite


def ten_minutes_ahead() -> dt.datetime:
    """The rules' clock in these tests: every stored study is already quiet."""
    return utcnow() + dt.timedelta(minutes=10)


TERMINAL = ("done", "failed", "cancelled")


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[RulesSite]:
    site = RulesSite(tmp_path, db_url)
    yield site
    site.db.dispose()


def _wait(what: str, predicate: Callable[[], bool], site: RulesSite, timeout: float = 120) -> None:
    """Poll until ``predicate`` holds (a deadline against hanging, not a speed requirement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    states = [(j.id, j.created_by, j.state, j.error) for j in site.jobs()]
    raise AssertionError(f"timed out waiting for {what}; jobs: {states}")


def _studies(job: DiscJob) -> list[str]:
    return list(json.loads(job.selection)["studies"])


def _lose_files(site: RulesSite, study: samples.StudySpec) -> None:
    """The archive lost a study's files (a bad disk): its job cannot be mastered."""
    with site.db.session() as s:
        paths = s.scalars(select(Instance.path).join(Series, Instance.series_fk == Series.id)
                          .join(Study, Series.study_fk == Study.id).where(Study.study_instance_uid == study.uid)).all()
    for p in paths:
        (site.archive.root / p).unlink()


def test_worker_burns_quiet_studies_and_keeps_going_after_a_failing_job(site: RulesSite) -> None:
    site.store(CT_A)
    site.store(MR_C)
    _lose_files(site, MR_C)
    rule = DiscRule("unattended", enabled=True, quiet_minutes=5, copies=2, comment="Unattended")
    worker = site.worker(rule, now=ten_minutes_ahead, tick_seconds=0.2)
    robot = worker.context.robot
    worker.start()
    try:
        _wait("two rule jobs to end", lambda: len(site.jobs()) == 2 and all(j.state in TERMINAL for j in site.jobs()), site)
        by_study = {_studies(j)[0]: j for j in site.jobs()}
        ct, mr = by_study[CT_A.uid], by_study[MR_C.uid]
        assert ct.created_by == mr.created_by == "rule:unattended"
        assert mr.state == "failed" and mr.error.startswith("mastering failed")
        assert ct.state == "done" and ct.error == "" and ct.comment == "Unattended" and ct.media == "cd"
        image = Path(json.loads(ct.volumes)[0]["image"])
        burned = [r for r in robot.ledger.records if r.job_id == f"J{ct.id:06d}V1"]  # type: ignore[attr-defined]
        assert [(r.bin, r.sha256) for r in burned] == [(robot_drivers.Bin.OUTPUT, hashlib.sha256(image.read_bytes()).hexdigest())] * 2
        assert [d["ok"] for d in json.loads(ct.discs)] == [True, True]

        # The worker goes on: a new study is burned, and so is a job a person queued.
        site.store(CT_B)
        person = create_job(site.db, Selection(studies=[CT_A.uid]), created_by="alice")
        _wait("the new study's job and the person's job to be done",
              lambda: len(site.jobs()) == 4 and all(j.state == "done" for j in site.jobs() if j.id not in (mr.id,)), site)
        ticks = worker.ticks
        _wait("three more ticks", lambda: worker.ticks >= ticks + 3, site)
        jobs = site.jobs()
        assert len(jobs) == 4, "a burned or failed group is not queued again by itself"
        assert [_studies(j) for j in jobs if j.created_by == "rule:unattended" and j.id not in (ct.id, mr.id)] == [[CT_B.uid]]
        assert len([r for r in robot.ledger.records if r.job_id == f"J{person:06d}V1"]) == 1  # type: ignore[attr-defined]
        assert worker.running
    finally:
        worker.stop()
    assert not worker.running and worker.current_job is None


def test_without_run_queued_the_worker_only_queues(site: RulesSite) -> None:
    site.store(CT_A)
    worker = site.worker(DiscRule("queue-only", enabled=True), now=ten_minutes_ahead, tick_seconds=0.2, run_queued=False)
    disabled = site.worker(DiscRule("off", enabled=False), now=ten_minutes_ahead)
    assert disabled.rules == () and disabled.tick() == []
    worker.start()
    try:
        _wait("a job and three ticks", lambda: len(site.jobs()) == 1 and worker.ticks >= 3, site)
    finally:
        worker.stop()
    (job,) = site.jobs()
    assert job.state == "queued" and job.created_by == "rule:queue-only"
    assert worker.context.robot.ledger.records == []  # type: ignore[attr-defined]


def test_a_restart_resumes_an_interrupted_job_and_never_burns_one_twice(site: RulesSite) -> None:
    site.store(CT_A)
    site.store(MR_C)
    rule = DiscRule("unattended", enabled=True, quiet_minutes=5)
    first = site.worker(rule, now=ten_minutes_ahead)
    made = first.create_due_jobs()
    assert len(made) == 2
    by_study = {_studies(j)[0]: j.id for j in site.jobs()}
    mastering, burning = by_study[CT_A.uid], by_study[MR_C.uid]
    # The service was killed: one job half-way through mastering, the other on the robot.
    with site.db.session() as s:
        s.get(DiscJob, mastering).state = "mastering"  # type: ignore[union-attr]
        s.get(DiscJob, burning).state = "burning"  # type: ignore[union-attr]
    partial = site.tmp / "jobs" / f"job{mastering:06d}"
    partial.mkdir(parents=True)
    (partial / "half-written.iso").write_bytes(b"partial")

    assert sorted(recover(site.db)) == sorted(made)  # what Service.prepare does at the next start
    second = site.worker(rule, now=ten_minutes_ahead, tick_seconds=0.2)
    second.start()
    try:
        _wait("the interrupted mastering job to be done", lambda: _state(site, mastering) == "done", site)
        ticks = second.ticks
        _wait("three more ticks", lambda: second.ticks >= ticks + 3, site)
    finally:
        second.stop()
    jobs = {j.id: j for j in site.jobs()}
    assert set(jobs) == {mastering, burning}, "no new job for either study"
    assert jobs[mastering].state == "done"
    assert jobs[burning].state == "failed" and "interrupted while burning" in jobs[burning].error
    image = Path(json.loads(jobs[mastering].volumes)[0]["image"])  # mastered anew, then burned
    records = second.context.robot.ledger.records  # type: ignore[attr-defined]
    assert [(r.job_id, r.sha256) for r in records] == [(f"J{mastering:06d}V1", hashlib.sha256(image.read_bytes()).hexdigest())]


def _serve(site: RulesSite, db_url: str, config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUBLISHER_DATA_DIR": str(site.tmp),
        "PUBLISHER_ARCHIVE_DIR": str(site.archive.root),
        "PUBLISHER_DATABASE_URL": db_url,
        "PUBLISHER_DICOM_PORT": str(free_port()),
        "PUBLISHER_HTTP_PORT": str(free_port()),
        "PUBLISHER_LOAD_SAMPLES": "false",
        "PUBLISHER_MIN_FREE_BYTES": "0",
    }
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "publisher.cli", "--config", str(config), "serve"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def _running(proc: subprocess.Popen[bytes], log: Path) -> Callable[[Callable[[], bool]], Callable[[], bool]]:
    """Wrap a predicate so that waiting stops at once, with the server's log, if it died."""

    def check(predicate: Callable[[], bool]) -> Callable[[], bool]:
        def wrapped() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"publisher serve ended with {proc.returncode}:\n{log.read_text(errors='replace')}")
            return predicate()

        return wrapped

    return check


def _state(site: RulesSite, job_id: int) -> str:
    with site.db.session() as s:
        job = s.get(DiscJob, job_id)
        return job.state if job is not None else ""


def test_serve_runs_the_worker_and_a_killed_serve_resumes(site: RulesSite, db_url: str) -> None:
    config = site.tmp / "site.toml"
    config.write_text("""
[robot]
kind = "simulator"
time_scale = 0.1       # about 5 s per disc: long enough to be killed while burning

[jobs]
tick_seconds = 0.2

[[rules]]
name = "every-study"
enabled = true
quiet_minutes = 0.02

[[rules]]
name = "not-yet"
""", encoding="utf-8")
    site.store(CT_A)
    site.arrived(CT_A, utcnow() - dt.timedelta(minutes=10))
    log1, log2 = site.tmp / "serve1.log", site.tmp / "serve2.log"
    first = _serve(site, db_url, config, log1)
    try:
        alive = _running(first, log1)
        _wait("the rule's job to burn", alive(lambda: any(j.state == "burning" for j in site.jobs())), site)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    out = log1.read_text(errors="replace")
    assert "Jobs:  worker runs every 0.2 s, runs queued jobs; 1 of 2 rule(s) enabled (every-study)" in out, out
    (killed,) = site.jobs()
    assert killed.created_by == "rule:every-study" and _studies(killed) == [CT_A.uid]

    second = _serve(site, db_url, config, log2)
    try:
        alive = _running(second, log2)
        _wait("the restart to put the job where it resumes", alive(lambda: _state(site, killed.id) == "failed"), site)
        site.store(CT_B)  # a new study arrives while the restarted service runs
        _wait("the new study's job to burn", alive(lambda: any(j.state == "burning" for j in site.jobs())), site)
    finally:
        second.send_signal(signal.SIGTERM)  # a clean stop lets the disc under way finish
        code = second.wait(120)
    assert code == 0, log2.read_text(errors="replace")
    jobs = site.jobs()
    assert [(_studies(j), j.state) for j in jobs] == [([CT_A.uid], "failed"), ([CT_B.uid], "done")]
    assert "interrupted while burning" in jobs[0].error and json.loads(jobs[1].discs)[0]["ok"]
