"""The common interface: registry (built-ins and entry points), typed errors, the locks, the
timing simulator."""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import robot_drivers
from robot_drivers import (Bin, EmptyInputBin, Fault, JobRejected, Blank, Robot, RobotBusy,
                           RobotError, RobotOffline, RobotTimeout, create, kinds)
from robot_drivers.lock import RobotLock
from robot_drivers.registry import BUILTIN, ENTRY_POINT_GROUP, drivers
from robot_drivers.sim.timing import TimingSimulator

ROOT = Path(robot_drivers.__file__).parent.parent


def test_registry_knows_every_kind_and_default_is_simulator(tmp_path: Path) -> None:
    assert {"simulator", "local", "serial", "primera", "epson"} <= set(kinds())
    robot = create(time_scale=0, lock_dir=tmp_path)
    assert isinstance(robot, TimingSimulator) and isinstance(robot, Robot)
    with pytest.raises(ValueError, match="unknown robot kind"):
        create("nope")
    with pytest.raises(TypeError):
        drivers()["nope"] = "x:Y"  # type: ignore[index]  # the table is read-only


def test_experimental_rimage_is_off_the_defaults(tmp_path: Path) -> None:
    assert "rimage" not in kinds() and "rimage" in kinds(experimental=True)
    with pytest.raises(ValueError, match="experimental"):
        create("rimage", job_folder=tmp_path, robot_job_folder="\\\\PC\\Orders")
    robot = create("rimage", experimental=True, job_folder=tmp_path, robot_job_folder="\\\\PC\\Orders")
    assert robot.experimental


def test_builtins_are_declared_as_entry_points() -> None:
    """pyproject.toml declares the built-ins in the entry-point group other packages use."""
    declared = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert declared == dict(BUILTIN), "reinstall (make install-test) after changing pyproject.toml"


def test_package_imports_nothing_from_publisher() -> None:
    code = ("import sys, robot_drivers, pkgutil, importlib\n"
            "for m in pkgutil.walk_packages(robot_drivers.__path__, 'robot_drivers.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m == 'publisher' or m.startswith('publisher.')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_errors_form_a_hierarchy() -> None:
    assert issubclass(RobotTimeout, RobotOffline)
    for fault, err in robot_drivers.FAULT_ERRORS.items():
        assert issubclass(err, RobotError), fault


def _lock_code(lock_dir: Path, name: str) -> str:
    return ("import sys; from pathlib import Path; from robot_drivers.lock import RobotLock\n"
            "from robot_drivers.errors import RobotBusy\n"
            f"l = RobotLock({name!r}, Path({str(lock_dir)!r}))\n"
            "try:\n    l.acquire()\nexcept RobotBusy:\n    sys.exit(3)\nsys.exit(0)\n")


def test_lock_excludes_a_second_process(tmp_path: Path) -> None:
    lock = RobotLock("serial-robot1", tmp_path)
    with lock:
        assert subprocess.run([sys.executable, "-c", _lock_code(tmp_path, "serial-robot1")], cwd=ROOT).returncode == 3
        assert subprocess.run([sys.executable, "-c", _lock_code(tmp_path, "serial-robot2")], cwd=ROOT).returncode == 0
    assert subprocess.run([sys.executable, "-c", _lock_code(tmp_path, "serial-robot1")], cwd=ROOT).returncode == 0


def test_real_devices_lock_machine_wide_by_device_simulators_locally(tmp_path: Path) -> None:
    """A serial port's lock is in the machine's lock directory, named after the port; two
    drivers of the same port share it whatever they are called. A simulator built without a
    lock directory locks only its own process, so unrelated simulators never wait for each other."""
    from robot_drivers.serial.autoloader import SerialAutoloader
    a = SerialAutoloader("front", port="/dev/ttyS7", drives=["/dev/sr0"])
    b = SerialAutoloader("back", port="/dev/ttyS7", drives=["/dev/sr0"])
    assert a.lock.path == b.lock.path
    assert a.lock.path is not None and a.lock.path.parent in (Path("/run/lock"), Path("/var/lock"))
    assert "ttyS7" in a.lock.path.name
    one, two = TimingSimulator(time_scale=0), TimingSimulator(time_scale=0)
    assert one.lock.path is None and two.lock.path is None
    with one.lock:
        with two.lock:  # no shared file: both are held at once
            assert one.lock.held and two.lock.held
    placed = TimingSimulator(time_scale=0, lock_dir=tmp_path / "data" / "robot-locks")
    assert placed.lock.path is not None and placed.lock.path.parent == tmp_path / "data" / "robot-locks"


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
    local = create("local", outdev=f"stdio:{tmp_path / 'x'}", media_types=(Blank.CD_R,), lock_dir=tmp_path)
    with pytest.raises(JobRejected, match="cannot burn BD-R"):
        local.burn(iso_image, 1, media=Blank.BD_R)


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
