"""The worker's pipeline on a 2-drive robot: job k+1 is mastered while job k burns, two 1-copy
jobs burn side by side, a drive fault fails only its job, and a stop or a restart never burns a
job twice. Order and overlap are read from the simulator's recorded intervals
(``TimingSimulator.activity``) and the worker's step times (same ``time.monotonic`` clock),
never from wall-clock limits."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path

import robot_drivers
from robot_drivers.sim.ledger import Activity, overlapping
from robot_drivers.sim.timing import TimingSimulator

from publisher.jobs.disc_job import JobContext, create_job, recover
from publisher.jobs.selection import Selection
from publisher.jobs.state import JobState
from publisher.jobs.worker import JobWorker, StepTime
from tests.support.jobs import job_context, load_job
from tests.support.net import wait_until

PATIENTS = ("PAT-LAT1", "PAT-CYR", "PAT-CJK")
SCALE = 0.05  # a disc is about 1.7 s in a drive: far longer than mastering a demo patient


def _robot(tmp: Path, scale: float = SCALE) -> TimingSimulator:
    return TimingSimulator(drives=2, time_scale=scale, lock_dir=tmp / "locks")


def _queue(ctx: JobContext, copies: int = 1, patients: Sequence[str] = PATIENTS) -> list[int]:
    return [create_job(ctx.db, Selection(patients=[p]), copies=copies, created_by="test") for p in patients]




def _drive(robot: TimingSimulator, job_id: int) -> Activity:
    (disc,) = [a for a in robot.activity.of("drive") if a.job_id == f"J{job_id:06d}V1"]
    return disc


def _steps(worker: JobWorker, step: str) -> dict[int, StepTime]:
    return {s.job_id: s for s in worker.steps if s.step == step}


def test_worker_masters_the_next_job_while_one_burns_and_burns_two_at_once(tmp_path: Path, db_url: str) -> None:
    robot = _robot(tmp_path)
    ctx = job_context(tmp_path, db_url, robot)
    ids = _queue(ctx)
    worker = JobWorker(ctx, [])
    assert (worker.burn_slots, worker.master_ahead) == (3, 2)
    assert worker.run_queue() == [(i, JobState.DONE) for i in ids]
    master = _steps(worker, "master")
    for k, nxt in zip(ids, ids[1:]):
        assert master[nxt].start < _drive(robot, k).end, f"job {nxt} was mastered only after job {k} burned"
    first, second = _drive(robot, ids[0]), _drive(robot, ids[1])
    assert first.resource != second.resource and overlapping([first, second]), "two 1-copy jobs on two drives"
    assert overlapping(robot.activity.of("arm")) == [] and overlapping(robot.activity.of("printer")) == []
    for i in ids:
        job = load_job(ctx, i)
        assert job.state == "done" and [d["ok"] for d in json.loads(job.discs)] == [True]
    assert len(robot.ledger.in_bin(robot_drivers.Bin.OUTPUT)) == 3


def test_one_at_a_time_runner_is_kept_for_comparison(tmp_path: Path, sqlite_url: str) -> None:
    robot = _robot(tmp_path)
    ctx = job_context(tmp_path, sqlite_url, robot)
    ids = _queue(ctx, patients=PATIENTS[:2])
    worker = JobWorker(ctx, [], parallel=False)
    assert worker.burn_slots == 1
    assert worker.run_queue() == [(i, JobState.DONE) for i in ids]
    first_out = max(a.end for a in robot.activity.items if a.job_id == f"J{ids[0]:06d}V1")
    (second,) = [s for s in worker.steps if s.job_id == ids[1]]
    assert second.step == "job" and second.start >= first_out
    assert overlapping(robot.activity.of("drive")) == []


def test_a_drive_fault_fails_only_the_job_on_that_drive(tmp_path: Path, sqlite_url: str) -> None:
    robot = _robot(tmp_path)
    ctx = job_context(tmp_path, sqlite_url, robot)
    ids = _queue(ctx, patients=PATIENTS[:2])
    robot.inject(robot_drivers.Fault.DRIVE_FAILURE, drive=1)
    ran = dict(JobWorker(ctx, []).run_queue())
    assert sorted(ran.values()) == [JobState.DONE, JobState.FAILED]
    failed = load_job(ctx, next(i for i in ids if ran[i] is JobState.FAILED))
    done = load_job(ctx, next(i for i in ids if ran[i] is JobState.DONE))
    assert failed.error.startswith("DriveFailure") and "drive 1" in failed.error
    assert _drive(robot, failed.id).resource == "drive1" and _drive(robot, done.id).resource == "drive0"
    assert [d["ok"] for d in json.loads(done.discs)] == [True]
    assert [r.bin for r in robot.ledger.records if r.job_id == f"J{failed.id:06d}V1"] == [robot_drivers.Bin.REJECT]


def test_a_stopped_worker_leaves_mastered_jobs_for_the_next_and_burns_nothing_twice(tmp_path: Path,
                                                                                   sqlite_url: str) -> None:
    robot = _robot(tmp_path, scale=0.02)
    ctx = job_context(tmp_path, sqlite_url, robot)
    ids = _queue(ctx, copies=2)
    first = JobWorker(ctx, [], burn_slots=1, master_ahead=2)
    # Stop once the first job is on the robot and the second is being mastered: the running
    # steps end, the mastered job waiting for the (single) burn slot is not started.
    runner = threading.Thread(target=first.run_queue)
    with robot.arm_stopped():
        runner.start()
        wait_until("the first burn inside the robot", lambda: robot._session.users == 1)
        wait_until("the second job's mastering", lambda: load_job(ctx, ids[1]).state in ("mastering", "mastered"))
        first.stop()  # what the service does at SIGTERM (here without a scheduler)
    runner.join(60)
    assert not runner.is_alive()
    states = [load_job(ctx, i).state for i in ids]
    assert states[:2] == ["done", "mastered"] and states[2] in ("queued", "mastered"), states
    assert recover(ctx.db) == [], "nothing was left mastering or burning"
    second = JobWorker(ctx, [])
    assert sorted(second.run_queue()) == [(i, JobState.DONE) for i in ids[1:]]
    assert [load_job(ctx, i).state for i in ids] == ["done"] * 3
    for i in ids:
        assert len([r for r in robot.ledger.records if r.job_id == f"J{i:06d}V1"]) == 2
    assert robot._session.users == 0 and not robot.lock.held
