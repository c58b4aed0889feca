"""Disc jobs end to end on the timing simulator: master, label, burn, verify; resume after a kill."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import robot_drivers
from PIL import Image
from sqlalchemy import select

from publisher.demo import samples
from publisher.db.models import AuditEvent, DiscJob
from publisher.jobs.disc_job import create_job, recover, resubmit, run_job
from publisher.jobs.selection import EmptySelection, Selection
from publisher.jobs.state import InvalidTransition, JobState, check
from tests.support.jobs import job_context, load_job




def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()




def test_job_masters_labels_and_burns_copies(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    job_id = create_job(ctx.db, Selection(patients=["PAT-CYR", "PAT-CJK"]), copies=2, comment="For Dr. Who",
                        created_by="radiologist")
    seen: list[tuple[int, int, str]] = []
    assert run_job(ctx, job_id, lambda d, t, m: seen.append((d, t, m))) is JobState.DONE
    job = load_job(ctx, job_id)
    assert job.state == "done" and job.error == ""
    volumes, discs = json.loads(job.volumes), json.loads(job.discs)
    assert len(volumes) == 1 and {p["name"] for p in volumes[0]["patients"]} == {"Иванова^Мария", "山田^太郎"}
    image = Path(volumes[0]["image"])
    assert len(discs) == 2 and all(d["ok"] and d["bin"] == "output" for d in discs)
    # The simulator recorded both discs with the image's content and our label.
    records = ctx.robot.ledger.records  # type: ignore[attr-defined]
    assert [r.sha256 for r in records] == [_sha(image)] * 2
    label = Path(records[0].label)
    assert label.suffix == ".png" and Image.open(label).size[0] > 500
    assert seen and seen[-1][0] == seen[-1][1]  # progress reached its total
    with ctx.db.session() as s:
        actions = [(e.action, e.actor) for e in s.scalars(select(AuditEvent))]
    assert ("media-export", "radiologist") in actions and ("burn", "radiologist") in actions
    ctx.db.dispose()


def test_selection_is_checked_when_the_job_is_created(tmp_path: Path, sqlite_url: str) -> None:
    ctx = job_context(tmp_path, sqlite_url)
    with pytest.raises(EmptySelection):
        create_job(ctx.db, Selection(studies=["1.2.3.999"]))
    with pytest.raises(ValueError):
        create_job(ctx.db, Selection(patients=["PAT-LAT1"]), copies=0)


def test_killed_while_mastering_resumes_and_rebuilds(tmp_path: Path, sqlite_url: str) -> None:
    ctx = job_context(tmp_path, sqlite_url)
    job_id = create_job(ctx.db, Selection(patients=["PAT-LAT1"]))
    with ctx.db.session() as s:
        s.get(DiscJob, job_id).state = "mastering"  # type: ignore[union-attr]  # as a kill leaves it
    (tmp_path / "jobs" / f"job{job_id:06d}").mkdir(parents=True)
    (tmp_path / "jobs" / f"job{job_id:06d}" / "half-written.iso").write_bytes(b"partial")
    assert recover(ctx.db) == [job_id]
    assert load_job(ctx, job_id).state == "queued"
    assert run_job(ctx, job_id) is JobState.DONE
    assert len(ctx.robot.ledger.records) == 1  # type: ignore[attr-defined]


def test_killed_while_burning_is_not_burned_again_until_resubmitted(tmp_path: Path, sqlite_url: str) -> None:
    ctx = job_context(tmp_path, sqlite_url)
    job_id = create_job(ctx.db, Selection(patients=["PAT-LAT1"]))
    assert run_job(ctx, job_id) is JobState.DONE
    burned = len(ctx.robot.ledger.records)  # type: ignore[attr-defined]
    with ctx.db.session() as s:
        s.get(DiscJob, job_id).state = "burning"  # type: ignore[union-attr]
    recover(ctx.db)
    job = load_job(ctx, job_id)
    assert job.state == "failed" and "interrupted while burning" in job.error
    assert run_job(ctx, job_id) is JobState.FAILED  # a failed job does nothing by itself
    assert len(ctx.robot.ledger.records) == burned  # type: ignore[attr-defined]
    resubmit(ctx.db, job_id)
    assert run_job(ctx, job_id) is JobState.DONE
    assert len(ctx.robot.ledger.records) == burned + 1  # type: ignore[attr-defined]


def test_robot_fault_fails_the_job_with_its_typed_reason_then_resubmit_works(tmp_path: Path, sqlite_url: str) -> None:
    robot = robot_drivers.create("simulator", time_scale=0.0)
    ctx = job_context(tmp_path, sqlite_url, robot)
    job_id = create_job(ctx.db, Selection(patients=["PAT-CJK"]), copies=2)
    robot.inject(robot_drivers.Fault.EMPTY_INPUT_BIN)  # type: ignore[attr-defined]
    assert run_job(ctx, job_id) is JobState.FAILED
    assert load_job(ctx, job_id).error.startswith("EmptyInputBin")
    robot.clear()  # type: ignore[attr-defined]  # an operator refilled the bin
    resubmit(ctx.db, job_id)
    assert run_job(ctx, job_id) is JobState.DONE
    assert sum(1 for d in json.loads(load_job(ctx, job_id).discs) if d["ok"]) == 2


def test_state_machine_refuses_impossible_moves() -> None:
    check("queued", JobState.MASTERING)
    for current, target in (("done", JobState.QUEUED), ("queued", JobState.DONE), ("burning", JobState.QUEUED)):
        with pytest.raises(InvalidTransition):
            check(current, target)


def test_burn_and_jobs_commands(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PUBLISHER_DATA_DIR": str(tmp_path / "data"), "PUBLISHER_MIN_FREE_BYTES": "0"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "publisher.cli", *args], capture_output=True, text=True, env=env, timeout=300)

    for study in samples.demo_studies(3):
        samples.write_study(study, tmp_path / "in" / study.key)
    assert cli("import", "-q", str(tmp_path / "in")).returncode == 0
    r = cli("burn", "-q", "--patient", "PAT-CYR", "--copies", "2", "--comment", "Für Dr. Müller")
    assert r.returncode == 0, r.stderr
    assert "disc 1, copy 2: ok, output bin" in r.stdout and "disc job 1: done" in r.stdout
    listing = cli("jobs").stdout
    assert "done" in listing and "Für Dr. Müller" in listing
    assert cli("burn", "--patient", "NOBODY").returncode != 0
    again = cli("jobs", "--run", "1")
    assert again.returncode != 0 and "only queued, mastered or failed" in again.stderr


def test_web_api_shows_jobs_with_progress(tmp_path: Path, sqlite_url: str) -> None:

    from publisher.web.app import create_app
    from tests.support.web_site import logged_in_client

    ctx = job_context(tmp_path, sqlite_url)
    job_id = create_job(ctx.db, Selection(patients=["PAT-LAT1"]), copies=1, comment="front desk")
    client = logged_in_client(create_app(ctx.db), ctx.db)
    queued = client.get("/api/jobs").json()
    assert queued[0]["id"] == job_id and queued[0]["state"] == "queued"
    run_job(ctx, job_id)
    detail = client.get(f"/api/jobs/{job_id}").json()
    assert detail["state"] == "done" and detail["comment"] == "front desk"
    assert detail["progress"]["done"] == detail["progress"]["total"] > 0
    assert detail["discs"][0]["ok"] and detail["volumes"][0]["count"] == 1
    assert client.get("/api/jobs/999").status_code == 404
    names = [p["name"] for p in client.get("/api/patients").json()]
    assert "Müller^Jürgen" in names


def test_two_runners_never_both_claim_a_job(tmp_path: Path, db_url: str) -> None:
    """The service's worker and a person's CLI may race for one queued job: one wins."""
    from concurrent.futures import ThreadPoolExecutor

    ctx = job_context(tmp_path, db_url)
    job_id = create_job(ctx.db, Selection(patients=["PAT-LAT1"]))

    def claim(_: int) -> str:
        try:
            return run_job(ctx, job_id).value
        except InvalidTransition:
            return "lost"

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(claim, range(4)))
    # One runner takes it to done; the others lose the claim or find it already under way.
    assert results.count("done") == 1, results
    assert set(results) - {"done"} <= {"lost", "mastering", "mastered", "burning"}, results
    assert len(ctx.robot.ledger.records) == 1  # type: ignore[attr-defined]
    ctx.db.dispose()
