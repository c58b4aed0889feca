"""Several burn requests share one robot: each disc takes a free drive, the single arm and
printer serve one disc at a time, a drive fault fails only its disc, and the cross-process lock
still keeps a second process out. Checked with the simulator's recorded intervals
(``TimingSimulator.activity``), never with wall-clock limits."""
from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import robot_drivers
from tests.support.robot_rigs import until
from robot_drivers import Bin, BurnResult, DriveFailure, Fault, LabelSpec, Blank, RobotError
from robot_drivers.sim.drive_pool import DiscTimes, DrivePool, StreamJob, lower_bound
from robot_drivers.sim.ledger import overlapping
from robot_drivers.sim.timing import Timings, TimingSimulator

SCALE = 0.005  # a 20 s move takes 0.1 s: long enough that a thread's start-up never decides overlap


@pytest.fixture
def robot(tmp_path: Path) -> Iterator[TimingSimulator]:
    sim = TimingSimulator(drives=2, time_scale=SCALE, lock_dir=tmp_path / "locks")
    yield sim
    sim.close()


def _concurrently(*calls: Callable[[], BurnResult]) -> list[BurnResult | RobotError]:
    """Run ``calls`` in threads at once; each gives its result or its robot error."""
    out: list[BurnResult | RobotError | None] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            out[i] = calls[i]()
        except RobotError as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(o is not None for o in out), "a burn did not return"
    return [o for o in out if o is not None]




def _lock_probe(lock_dir: Path) -> int:
    """3 if another process holds the simulator's lock, 0 if this one could take it."""
    code = ("import sys; from pathlib import Path; from robot_drivers.lock import RobotLock\n"
            "from robot_drivers.errors import RobotBusy\n"
            f"l = RobotLock('simulator-simulator', Path({str(lock_dir)!r}))\n"
            "try:\n    l.acquire()\nexcept RobotBusy:\n    sys.exit(3)\nsys.exit(0)\n")
    return subprocess.run([sys.executable, "-c", code],
                          cwd=Path(robot_drivers.__file__).parent.parent).returncode


def test_two_single_copy_jobs_burn_on_two_drives_at_once(robot: TimingSimulator, iso_image: Path,
                                                         label_file: Path) -> None:
    label = LabelSpec(file=label_file)
    a, b = _concurrently(lambda: robot.burn(iso_image, 1, label=label, job_id="A"),
                         lambda: robot.burn(iso_image, 1, label=label, job_id="B"))
    assert isinstance(a, BurnResult) and isinstance(b, BurnResult)
    assert a.good == b.good == 1
    assert {a.discs[0].drive, b.discs[0].drive} == {0, 1}
    drives = robot.activity.of("drive")
    assert sorted((d.resource, d.job_id) for d in drives) in (
        [("drive0", "A"), ("drive1", "B")], [("drive0", "B"), ("drive1", "A")])
    assert len(overlapping(drives)) == 1, "both discs were in their drives at the same time"
    assert sorted(r.job_id for r in robot.ledger.in_bin(Bin.OUTPUT)) == ["A", "B"]
    assert not robot.lock.held


def test_arm_and_printer_serve_one_disc_at_a_time(robot: TimingSimulator, iso_image: Path,
                                                  label_file: Path) -> None:
    label = LabelSpec(file=label_file)
    results = _concurrently(lambda: robot.burn(iso_image, 2, label=label, job_id="A"),
                            lambda: robot.burn(iso_image, 1, job_id="B", media=Blank.DVD_R),
                            lambda: robot.burn(iso_image, 2, label=label, job_id="C"))
    assert [r.good for r in results if isinstance(r, BurnResult)] == [2, 1, 2]
    arm, printer = robot.activity.of("arm"), robot.activity.of("printer")
    assert [a.what for a in arm].count("load") == 5 and [a.what for a in arm].count("unload") == 5
    assert len(printer) == 4  # B has no label
    assert overlapping(arm) == [] and overlapping(printer) == []
    for d in (0, 1):  # a drive holds one disc at a time
        assert overlapping(robot.activity.of(f"drive{d}")) == []
    # the drives worked side by side: their busy time adds up to more than the elapsed time
    drives = robot.activity.of("drive")
    busy = sum(d.end - d.start for d in drives)
    assert busy > max(d.end for d in drives) - min(d.start for d in drives)


def test_a_drive_takes_the_next_disc_while_the_last_one_prints(robot: TimingSimulator, iso_image: Path,
                                                               label_file: Path) -> None:
    assert robot.burn(iso_image, 3, label=LabelSpec(file=label_file), job_id="A").good == 3
    drives, prints = robot.activity.of("drive"), robot.activity.of("printer")
    third = drives[2]
    before = [d for d in drives[:2] if d.resource == third.resource][0]
    its_print = min((p for p in prints if p.drive == before.drive and p.start >= before.end), key=lambda p: p.start)
    assert before.end <= third.start < its_print.end, "the drive waited for the printer"


def test_a_fault_on_one_drive_fails_only_that_job(robot: TimingSimulator, iso_image: Path) -> None:
    robot.inject(Fault.DRIVE_FAILURE, drive=1)
    results = _concurrently(lambda: robot.burn(iso_image, 1, job_id="A"),
                            lambda: robot.burn(iso_image, 1, job_id="B"))
    failed = [r for r in results if isinstance(r, RobotError)]
    good = [r for r in results if isinstance(r, BurnResult)]
    assert len(failed) == 1 and isinstance(failed[0], DriveFailure) and "drive 1" in str(failed[0])
    assert failed[0].discs == []
    assert len(good) == 1 and good[0].discs[0].drive == 0 and good[0].good == 1
    (rejected,) = robot.ledger.in_bin(Bin.REJECT)
    (output,) = robot.ledger.in_bin(Bin.OUTPUT)
    assert rejected.drive == 1 and output.drive == 0 and rejected.job_id != output.job_id
    assert robot.burn(iso_image, 2).good == 2  # the fault hit one disc; the robot goes on


def test_a_failing_copy_stops_its_own_job_and_not_the_other(robot: TimingSimulator,
                                                            iso_image: Path) -> None:
    robot.inject(Fault.VERIFY_FAILURE, drive=0)
    with robot.arm_stopped():  # both requests are waiting before the first disc moves
        threads = _start(lambda: robot.burn(iso_image, 3, job_id="A"))
        until("A's discs to wait for the arm", lambda: robot._pool.free == 0)
        threads += _start(lambda: robot.burn(iso_image, 2, job_id="B"))
        until("B to wait for a drive", lambda: robot._session.users == 2)
    out = _join(threads)
    assert isinstance(out[0], RobotError) and isinstance(out[1], BurnResult) and out[1].good == 2
    a_discs = [r for r in robot.ledger.records if r.job_id == "A"]
    assert [r.bin for r in a_discs].count(Bin.REJECT) == 1
    (failure,) = [a for a in robot.activity.of("arm") if a.what == "reject"]
    a_loads = [a for a in robot.activity.of("arm") if a.what == "load" and a.job_id == "A"]
    assert all(load.start < failure.start for load in a_loads), "no copy of A is started after its failure"
    assert len(a_discs) == len(a_loads) <= 3


def _start(call: Callable[[], BurnResult]) -> list[tuple[threading.Thread, list[object]]]:
    box: list[object] = []

    def run() -> None:
        try:
            box.append(call())
        except RobotError as exc:
            box.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return [(t, box)]


def _join(threads: list[tuple[threading.Thread, list[object]]]) -> list[object]:
    for t, _ in threads:
        t.join(60)
    return [box[0] for _, box in threads]


def test_threads_of_one_process_share_the_lock_another_process_is_kept_out(
        robot: TimingSimulator, iso_image: Path, tmp_path: Path) -> None:
    with robot.arm_stopped():  # hold both burns inside the robot while the other process tries
        threads = _start(lambda: robot.burn(iso_image, 1, job_id="A"))
        threads += _start(lambda: robot.burn(iso_image, 1, job_id="B"))
        until("both burns to hold the robot", lambda: robot._session.users == 2)
        assert robot.lock.held
        assert _lock_probe(tmp_path / "locks") == 3
    out = _join(threads)
    assert all(isinstance(o, BurnResult) and o.good == 1 for o in out)
    assert len(overlapping(robot.activity.of("drive"))) == 1
    assert not robot.lock.held and robot._session.users == 0
    assert _lock_probe(tmp_path / "locks") == 0


def test_robots_that_cannot_share_take_turns(tmp_path: Path, iso_image: Path) -> None:
    class OneAtATime(TimingSimulator):
        concurrent_burns = False

    robot = OneAtATime(drives=2, time_scale=SCALE, lock_dir=tmp_path / "locks")
    _concurrently(lambda: robot.burn(iso_image, 1, job_id="A"),
                  lambda: robot.burn(iso_image, 1, job_id="B"))
    assert overlapping(robot.activity.of("drive")) == []


def test_drive_pool_is_first_come_first_served() -> None:
    pool = DrivePool(1)
    assert pool.acquire() == 0
    order: list[str] = []

    def wait(name: str) -> None:
        drive = pool.acquire()
        assert drive == 0
        order.append(name)
        pool.release(drive)

    first = threading.Thread(target=wait, args=("first",))
    first.start()
    until("the first waiter", lambda: len(pool._waiting) == 1)
    second = threading.Thread(target=wait, args=("second",))
    second.start()
    until("the second waiter", lambda: len(pool._waiting) == 2)
    stop = threading.Event()
    third: list[int | None] = []
    cancelled = threading.Thread(target=lambda: third.append(pool.acquire(stop.is_set)))
    cancelled.start()
    until("the third waiter", lambda: len(pool._waiting) == 3)
    stop.set()
    pool.wake()
    cancelled.join(10)
    assert third == [None]
    pool.release(0)
    first.join(10)
    second.join(10)
    assert order == ["first", "second"] and pool.free == 1


def test_lower_bound_terms() -> None:
    t = Timings()
    cd = t.disc(36_000_000, Blank.CD_R)  # 10 s to write, 10 s to read back
    assert cd == DiscTimes(drive=8 + 20 + 10 + 10 + 6, arm=14, printer=6 + 20, ready=8 + 20 + 10 + 10)
    unlabelled = t.disc(36_000_000, Blank.CD_R, verify=False, label=False)
    assert unlabelled.drive == 44 and unlabelled.printer == 0
    jobs = [StreamJob(5.0, (cd,)), StreamJob(20.0, (cd, cd)), StreamJob(2.0, (unlabelled,))]
    b = lower_bound(jobs, drives=2)
    assert b.discs == 4
    assert b.drive_term == pytest.approx((3 * 54 + 44) / 2)
    assert b.chain_term == pytest.approx(20 + 54 + 26)
    assert b.arm_term == pytest.approx(4 * 14) and b.printer_term == pytest.approx(3 * 26)
    assert b.makespan == pytest.approx(103) and b.limited_by == "drives"
    assert b.discs_per_hour == pytest.approx(4 * 3600 / 103)
    assert b.ratio(206) == pytest.approx(0.5)
    assert (b.first_image, b.first_disc) == (2.0, 2.0 + 38)  # the unverified disc is ready first
    assert b.with_fill == pytest.approx(max(2 + 103, 20 + 54 + 26, 2 + 56, 40 + 78)) == 118
    assert lower_bound(jobs, 2, single_arm=False, single_printer=False).arm_term == 0
