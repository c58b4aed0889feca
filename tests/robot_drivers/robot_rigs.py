"""Fixtures for the robot driver tests: a real ISO test image and one rig per driver.

A rig is a driver wired to its simulator. Peer tools (xorriso) must be there in
CI (``CI=true``): a missing one fails the test there and skips it elsewhere.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from robot_drivers import Robot
from robot_drivers.model import Fault
from robot_drivers.simulation import DiscLedger

TIME_SCALE = 0.0005  # a 20 s robot move takes 10 ms


def require_tool(name: str) -> str:
    """Path of ``name``; fail under CI=true, skip otherwise."""
    exe = shutil.which(name)
    if exe is None:
        msg = f"{name} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def make_iso(folder: Path, name: str = "study.iso", payload: int = 200_000) -> Path:
    """A small ISO 9660 image made by xorriso, with a DICOMDIR-like file and random data."""
    xorriso = require_tool("xorriso")
    src = folder / f"{name}.src"
    (src / "DICOM").mkdir(parents=True)
    (src / "DICOMDIR").write_bytes(b"DICM" * 64)
    (src / "DICOM" / "I0001").write_bytes(os.urandom(payload))
    iso = folder / name
    subprocess.run([xorriso, "-as", "mkisofs", "-quiet", "-J", "-V", "TESTDISC", "-o", str(iso),
                    str(src)], check=True, capture_output=True)
    return iso


@pytest.fixture
def iso_image(tmp_path: Path) -> Path:
    return make_iso(tmp_path)


@pytest.fixture
def label_file(tmp_path: Path) -> Path:
    p = tmp_path / "label.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n fake label for the robot tests")
    return p


@dataclass
class Rig:
    """A driver and its simulator."""

    robot: Robot
    ledger: DiscLedger
    inject: Callable[[Fault], None]
    clear: Callable[[], None]
    faults: tuple[Fault, ...]
    sim: Any = None


RIGS: dict[str, Callable[[Path], Iterator[Rig]]] = {}


def rig(kind: str) -> Callable[[Callable[[Path], Iterator[Rig]]], Callable[[Path], Iterator[Rig]]]:
    def deco(fn: Callable[[Path], Iterator[Rig]]) -> Callable[[Path], Iterator[Rig]]:
        RIGS[kind] = fn
        return fn
    return deco


@rig("simulator")
def _timing_rig(tmp: Path) -> Iterator[Rig]:
    from robot_drivers.timing import TimingSimulator
    robot = TimingSimulator(time_scale=TIME_SCALE, lock_dir=tmp / "locks")
    yield Rig(robot, robot.ledger, robot.inject, robot.clear, tuple(Fault))


@rig("local")
def _local_rig(tmp: Path) -> Iterator[Rig]:
    require_tool("xorriso")
    from robot_drivers.local_drive_sim import LocalDriveSimulator
    sim = LocalDriveSimulator(tmp / "localdrive")
    robot = sim.robot(lock_dir=tmp / "locks")
    yield Rig(robot, sim.ledger, sim.inject, sim.clear, sim.supported_faults, sim)


@rig("serial")
def _serial_rig(tmp: Path) -> Iterator[Rig]:
    require_tool("xorriso")
    from robot_drivers.serial_robot import SerialAutoloader
    from robot_drivers.serial_sim import SerialAutoloaderSimulator
    sim = SerialAutoloaderSimulator(tmp / "serial", drives=2, time_scale=TIME_SCALE)
    robot = SerialAutoloader(port=sim.port, drives=sim.drives, label_spool=sim.spool,
                             timeout=0.5, move_timeout=1.0, lock_dir=tmp / "locks")
    try:
        yield Rig(robot, sim.ledger, sim.inject, sim.clear, sim.supported_faults, sim)
    finally:
        robot.close()
        sim.close()


@rig("primera")
def _primera_rig(tmp: Path) -> Iterator[Rig]:
    from robot_drivers.primera import PrimeraPTBurn
    from robot_drivers.primera_sim import PTBurnSimulator
    sim = PTBurnSimulator(tmp / "PTBurnJobs", time_scale=TIME_SCALE)
    robot = PrimeraPTBurn(job_folder=sim.folder, poll=0.01, offline_after=0.3,
                          lock_dir=tmp / "locks")
    try:
        yield Rig(robot, sim.ledger, sim.inject, sim.clear, sim.supported_faults, sim)
    finally:
        sim.close()


@rig("epson")
def _epson_rig(tmp: Path) -> Iterator[Rig]:
    from robot_drivers.epson import EpsonTDBridge
    from robot_drivers.epson_sim import TDBridgeSimulator
    sim = TDBridgeSimulator(tmp / "TDBridge", time_scale=TIME_SCALE)
    robot = EpsonTDBridge(job_folder=sim.folder, poll=0.01, offline_after=0.3,
                          lock_dir=tmp / "locks")
    try:
        yield Rig(robot, sim.ledger, sim.inject, sim.clear, sim.supported_faults, sim)
    finally:
        sim.close()


@rig("rimage")
def _rimage_rig(tmp: Path) -> Iterator[Rig]:
    from robot_drivers.rimage import RimageHotFolder
    from robot_drivers.rimage_sim import RimageSimulator
    sim = RimageSimulator(tmp / "RimageOrders", time_scale=TIME_SCALE)
    robot = RimageHotFolder(order_folder=sim.folder, poll=0.01, offline_after=0.3,
                            lock_dir=tmp / "locks")
    try:
        yield Rig(robot, sim.ledger, sim.inject, sim.clear, sim.supported_faults, sim)
    finally:
        sim.close()


@pytest.fixture(params=sorted(RIGS))
def any_rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    gen = RIGS[request.param](tmp_path)
    r = next(gen)
    try:
        yield r
    finally:
        r.robot.close()
        next(gen, None)
