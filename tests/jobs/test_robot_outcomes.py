"""What a disc job becomes when the robot does not make every copy (issue 17, acceptance 3), is
cancelled, or waits for a person: on the TD Bridge and PTBurn simulators (built from the vendors'
manuals), through the real drivers and the job runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from robot_drivers.hotfolder.epson import EpsonTDBridge
from robot_drivers.hotfolder.primera import PrimeraPTBurn
from robot_drivers.model import Fault
from robot_drivers.sim.epson import TDBridgeSimulator
from robot_drivers.sim.primera import PTBurnSimulator

from publisher.jobs.disc_job import JobContext, cancel_burn, create_job, run_job
from publisher.jobs.selection import Selection
from publisher.jobs.state import JobState
from tests.support.jobs import job_context, load_job
from tests.support.net import wait_until

SCALE = 0.0005
FAST = {"poll": 0.005, "offline_after": 2.0, "cancel_timeout": 10.0}
PATIENT = "PAT-LAT1"




@pytest.fixture
def tdbridge(tmp_path: Path) -> Iterator[TDBridgeSimulator]:
    sim = TDBridgeSimulator(tmp_path / "TDBridge", time_scale=SCALE, robot_root="\\\\PP100\\TDB")
    yield sim
    sim.close()


def _epson(tmp: Path, sim: TDBridgeSimulator, **options: object) -> EpsonTDBridge:
    return EpsonTDBridge(job_folder=sim.folder, robot_job_folder="\\\\PP100\\TDB", lock_dir=tmp / "locks",
                         **{**FAST, **options})  # type: ignore[arg-type]


def test_a_shortfall_fails_the_job_naming_the_missing_copies(tmp_path: Path, sqlite_url: str,
                                                             tdbridge: TDBridgeSimulator) -> None:
    ctx = job_context(tmp_path, sqlite_url, _epson(tmp_path, tdbridge))
    job_id = create_job(ctx.db, Selection(patients=[PATIENT]), copies=3, created_by="test")
    tdbridge.inject(Fault.DRIVE_FAILURE)  # one disc ends abnormally; TD Bridge does not remake it
    assert run_job(ctx, job_id) is JobState.FAILED
    job = load_job(ctx, job_id)
    assert job.error.startswith("Shortfall: TD Bridge job J") and "2 good disc(s) of 3: 1 missing" in job.error
    discs = json.loads(job.discs)
    assert [d["ok"] for d in discs] == [True, True, False] and discs[2]["bin"] == "reject"


def test_a_remade_reject_does_not_fail_the_job(tmp_path: Path, sqlite_url: str) -> None:
    sim = PTBurnSimulator(tmp_path / "PTBurnJobs", time_scale=SCALE, robot_root="\\\\BRAVO\\PTBurnJobs")
    try:
        robot = PrimeraPTBurn(job_folder=sim.folder, robot_job_folder="\\\\BRAVO\\PTBurnJobs",
                              lock_dir=tmp_path / "locks", **FAST)  # type: ignore[arg-type]
        ctx = job_context(tmp_path, sqlite_url, robot)
        job_id = create_job(ctx.db, Selection(patients=[PATIENT]), copies=2, created_by="test")
        sim.inject(Fault.VERIFY_FAILURE)  # PTBurn rejects the disc and makes another
        assert run_job(ctx, job_id) is JobState.DONE
        discs = json.loads(load_job(ctx, job_id).discs)
        assert sorted(d["ok"] for d in discs) == [False, True, True]
    finally:
        sim.close()


def test_cancel_ends_the_job_cancelled_and_a_pause_is_shown_as_waiting(tmp_path: Path, sqlite_url: str,
                                                                      tdbridge: TDBridgeSimulator) -> None:
    ctx: JobContext = job_context(tmp_path, sqlite_url, _epson(tmp_path, tdbridge))
    job_id = create_job(ctx.db, Selection(patients=[PATIENT]), copies=30, created_by="test")
    tdbridge.inject(Fault.COVER_OPEN)
    runner = threading.Thread(target=run_job, args=(ctx, job_id))
    runner.start()
    wait_until("the pause to show", lambda: (load_job(ctx, job_id).progress_message or "").startswith("waiting for the operator"))
    assert load_job(ctx, job_id).state == "burning"
    tdbridge.clear()
    wait_until("the job to resume", lambda: load_job(ctx, job_id).progress_message == "resumed")
    assert cancel_burn(ctx, job_id)
    runner.join(120)
    job = load_job(ctx, job_id)
    assert job.state == "cancelled" and job.error.startswith("JobCancelled"), (job.state, job.error)


def test_burn_on_an_unmounted_share_says_what_to_fix_and_leaves_the_job_queued(tmp_path: Path) -> None:
    from tests.support.jobs import SHARED_ROOT, robot_site

    site = tmp_path / "site"
    site.mkdir()
    robot_site(site)
    config = tmp_path / "site.toml"
    config.write_text(f'[robot]\nkind = "primera"\njob_folder = "{tmp_path / "not-mounted"}"\n'
                      'robot_job_folder = \'\\\\BRAVO-PC\\PTBurnJobs\'\n', encoding="utf-8")
    env = {**os.environ, "PUBLISHER_DATA_DIR": str(site), "PUBLISHER_LOAD_SAMPLES": "false",
           "PUBLISHER_MIN_FREE_BYTES": "0"}
    r = subprocess.run([sys.executable, "-m", "publisher.cli", "--config", str(config), "burn", "-q",
                        "--patient", PATIENT], env=env, cwd=SHARED_ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "stays queued: robot 'primera' could not be set up" in r.stderr
    assert "(the robot PC's \\\\BRAVO-PC\\PTBurnJobs) does not exist: is the share mounted?" in r.stderr
