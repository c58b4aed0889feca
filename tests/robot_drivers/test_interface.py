"""The common interface: registry, typed errors, the cross-process lock, the timing simulator."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import robot_drivers
from robot_drivers import (Bin, EmptyInputBin, Fault, JobRejected, MediaType, Robot, RobotBusy,
                           RobotError, RobotOffline, RobotTimeout, create, kinds)
from robot_drivers.lock import RobotLock
from robot_drivers.timing import TimingSimulator


def test_registry_knows_every_kind_and_default_is_simulator(tmp_path: Path) -> None:
    assert {"simulator", "local", "serial", "primera", "epson", "rimage"} <= set(kinds())
    robot = create(time_scale=0, lock_dir=tmp_path)
    assert isinstance(robot, TimingSimulator) and isinstance(robot, Robot)
    with pytest.raises(ValueError, match="unknown robot kind"):
        create("nope")


def test_package_imports_nothing_from_publisher() -> None:
    code = ("import sys, robot_drivers, pkgutil, importlib\n"
            "for m in pkgutil.iter_modules(robot_drivers.__path__):\n"
            "    importlib.import_module('robot_drivers.' + m.name)\n"
            "bad = [m for m in sys.modules if m == 'publisher' or m.startswith('publisher.')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(robot_drivers.__file__).parent.parent)


def test_errors_form_a_hierarchy() -> None:
    assert issubclass(RobotTimeout, RobotOffline)
    for fault, err in robot_drivers.FAULT_ERRORS.items():
        assert issubclass(err, RobotError), fault


def test_lock_excludes_a_second_process(tmp_path: Path) -> None:
    lock = RobotLock("serial-robot1", tmp_path)
    code = ("import sys; from pathlib import Path; from robot_drivers.lock import RobotLock\n"
            "from robot_drivers.errors import RobotBusy\n"
            f"l = RobotLock('serial-robot1', Path({str(tmp_path)!r}))\n"
            "try:\n    l.acquire()\nexcept RobotBusy:\n    sys.exit(3)\nsys.exit(0)\n")
    cwd = Path(robot_drivers.__file__).parent.parent
    with lock:
        assert subprocess.run([sys.executable, "-c", code], cwd=cwd).returncode == 3
    assert subprocess.run([sys.executable, "-c", code], cwd=cwd).returncode == 0


def test_robot_busy_while_locked(tmp_path: Path, iso_image: Path) -> None:
    robot = create("simulator", time_scale=0, lock_dir=tmp_path)
    with RobotLock("simulator-simulator", tmp_path):
        with pytest.raises(RobotBusy):
            robot.burn(iso_image, 1)


def test_bad_requests_are_rejected(tmp_path: Path, iso_image: Path) -> None:
    robot = create("simulator", time_scale=0, lock_dir=tmp_path)
    with pytest.raises(JobRejected):
        robot.burn(iso_image, 0)
    with pytest.raises(JobRejected):
        robot.burn(tmp_path / "missing.iso", 1)
    local = create("local", outdev="stdio:/tmp/x", media_types=(MediaType.CD_R,), lock_dir=tmp_path)
    with pytest.raises(JobRejected):
        local.burn(iso_image, 1, media=MediaType.BD_R)


def test_timing_simulator_status_and_partial_results(tmp_path: Path, iso_image: Path) -> None:
    robot = TimingSimulator(drives=2, blanks=2, time_scale=0, lock_dir=tmp_path)
    with pytest.raises(EmptyInputBin) as info:
        robot.burn(iso_image, 3)
    assert len(info.value.discs) == 2 and all(d.ok for d in info.value.discs)
    st = robot.status()
    assert st.online and st.input_bins == (0,) and st.output_bin == 2
    assert [d.index for d in st.drives] == [0, 1]
    robot.inject(Fault.OFFLINE)
    with pytest.raises(RobotOffline):
        robot.status()
    assert len(robot.ledger.in_bin(Bin.OUTPUT)) == 2
