"""Fixtures for the robot driver tests: a real ISO test image and one rig per driver.

A rig is a driver wired to its simulator, with what the test may expect of that pair: the
typed error each fault the simulator offers surfaces as (None: the robot remakes the disc and
the job succeeds), how to recognise the label the robot printed, and what a good disc holds.
Peer tools (xorriso, 7zz) must be there in CI (``CI=true``): a missing one fails the test
there and skips it elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from robot_drivers import (
    FAULT_ERRORS,
    PrinterFailure,
    Robot,
    RobotError,
    RobotOffline,
    RobotPaused,
    Shortfall,
)
from robot_drivers.manifest import ImageManifest
from robot_drivers.model import Fault
from robot_drivers.sim.hotfolder import tree_digest
from robot_drivers.sim.ledger import DiscLedger
from tests.support.tools import require_tool

TIME_SCALE = 0.0005  # a 20 s robot move takes 10 ms
PTBURN_SHARE = "\\\\BRAVO-PC\\PTBurnJobs"
TDBRIDGE_SHARE = "\\\\PP100-PC\\TDBridge"
NWP_SHARE = "\\\\RIMAGE-PC\\Orders"


def until(what: str, predicate: Callable[[], bool], poll: float = 0.005) -> None:
    """Wait for ``predicate`` (a minute at most: against a hang, not a speed requirement)."""
    deadline = time.monotonic() + 60
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


def cancelled_midway(robot: Robot, sim: Any, image: Path, job_id: str, copies: int = 40) -> BaseException:
    """Burn ``copies`` in a thread, cancel once the vendor runs the job, return what the burn raised."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            robot.burn(image, copies, job_id=job_id)
        except BaseException as exc:  # noqa: BLE001 - the caller looks at it
            raised.append(exc)
    runner = threading.Thread(target=run)
    runner.start()
    until("the job to run", lambda: any(sim.folder.glob(f"{job_id}-*.INP")))
    assert robot.cancel(job_id)
    runner.join(60)
    assert len(raised) == 1, raised
    return raised[0]




def make_iso(folder: Path, name: str = "study.iso", payload: int = 200_000) -> Path:
    """A small ISO 9660 + Joliet image made by xorriso, with a DICOMDIR-like file and random data."""
    xorriso = require_tool("xorriso")
    src = folder / f"{name}.src"
    (src / "DICOM").mkdir(parents=True)
    (src / "DICOMDIR").write_bytes(b"DICM" * 64)
    (src / "DICOM" / "I0001").write_bytes(os.urandom(payload))
    iso = folder / name
    subprocess.run([xorriso, "-as", "mkisofs", "-quiet", "-J", "-V", "TESTDISC", "-o", str(iso),
                    str(src)], check=True, capture_output=True)
    return iso


def files_digest(iso: Path, work: Path) -> str:
    """The digest a robot that writes files (TD Bridge) records: of the image's tree, as 7-Zip
    (a peer, not our code) extracts it."""
    out = work / f"{iso.name}.7z-extracted"
    subprocess.run([require_tool("7zz"), "x", "-y", f"-o{out}", str(iso)], check=True, capture_output=True)
    return tree_digest(out)


@pytest.fixture
def iso_image(tmp_path: Path) -> Path:
    return make_iso(tmp_path)


@pytest.fixture
def label_file(tmp_path: Path) -> Path:
    """A real PNG, as publisher.labels renders it."""
    p = tmp_path / "label.png"
    Image.new("RGB", (120, 120), (200, 30, 30)).save(p, "PNG")
    return p


def _same_name(printed: str, label: Path) -> bool:
    return Path(printed).name == label.name


def _magic(prefix: bytes) -> Callable[[str, Path], bool]:
    return lambda printed, label: Path(printed).read_bytes().startswith(prefix)


@dataclass
class Rig:
    """A driver, its simulator and what to expect of them."""

    robot: Robot
    ledger: DiscLedger
    inject: Callable[[Fault], None]
    clear: Callable[[], None]
    faults: dict[Fault, type[RobotError] | None]
    sim: Any = None
    printed_as: Callable[[str, Path], bool] = _same_name  #: the printed label is ours, in the vendor's format
    content: Callable[[Path, Path], str] = field(default=lambda iso, work: ImageManifest.of(iso).sha256)


RIGS: dict[str, Callable[[Path], Iterator[Rig]]] = {}


def rig(kind: str) -> Callable[[Callable[[Path], Iterator[Rig]]], Callable[[Path], Iterator[Rig]]]:
    def deco(fn: Callable[[Path], Iterator[Rig]]) -> Callable[[Path], Iterator[Rig]]:
        RIGS[kind] = fn
        return fn
    return deco


@rig("simulator")
def _timing_rig(tmp: Path) -> Iterator[Rig]:
    from robot_drivers.sim.timing import TimingSimulator
    robot = TimingSimulator(time_scale=TIME_SCALE, lock_dir=tmp / "locks")
    yield Rig(robot, robot.ledger, robot.inject, robot.clear, {f: FAULT_ERRORS[f] for f in Fault})


@rig("local")
def _local_rig(tmp: Path) -> Iterator[Rig]:
    require_tool("xorriso")
    from robot_drivers.sim.pseudo_drive import LocalDriveSimulator
    sim = LocalDriveSimulator(tmp / "localdrive")
    robot = sim.robot(lock_dir=tmp / "locks")
    yield Rig(robot, sim.ledger, sim.inject, sim.clear, {f: FAULT_ERRORS[f] for f in sim.supported_faults}, sim)


#: a two-drive unit with a printer: its drive digits and printer letters are this unit's own
PRINTER_COMMANDS = {"load": "I{drive}", "to_output": "A{drive}", "pick": "G{drive}",
                    "to_printer": "K", "print_label": "W", "printer_to_output": "O"}


@rig("serial")
def _serial_rig(tmp: Path) -> Iterator[Rig]:
    require_tool("xorriso")
    from robot_drivers.serial.autoloader import SerialAutoloader
    from robot_drivers.sim.serial import PRINTER_UNIT, SerialAutoloaderSimulator
    sim = SerialAutoloaderSimulator(tmp / "serial", drives=2, time_scale=TIME_SCALE, unit=PRINTER_UNIT)
    robot = SerialAutoloader(port=sim.port, drives=sim.drives, label_spool=sim.spool, commands=PRINTER_COMMANDS,
                             timeout=0.5, move_timeout=1.0, reply_gap=0.05, lock_dir=tmp / "locks")
    try:
        yield Rig(robot, sim.ledger, sim.inject, sim.clear, {f: FAULT_ERRORS[f] for f in sim.supported_faults}, sim)
    finally:
        robot.close()
        sim.close()


HOT = {"poll": 0.005, "offline_after": 0.5, "operator_timeout": 0.3, "cancel_timeout": 5.0}


def _driver(sim: Any, make: Callable[..., Any], share: str, tmp: Path, options: dict[str, Any]) -> tuple[Any, Any]:
    """The driver ``make`` pointed at ``sim``'s folder as the robot PC ``share``; the simulator is
    closed if the driver refuses its options."""
    try:
        robot = make(job_folder=sim.folder, robot_job_folder=share, lock_dir=tmp / "locks", **{**HOT, **options})
    except BaseException:
        sim.close()
        raise
    return sim, robot


def _sim_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k[4:]: options.pop(k) for k in list(options) if k.startswith("sim_")}


def ptburn(tmp: Path, **options: Any) -> tuple[Any, Any]:
    """A PTBurn simulator and the driver pointed at it (the share seen as ``PTBURN_SHARE``);
    ``sim_*`` options go to the simulator."""
    from robot_drivers.hotfolder.primera import PrimeraPTBurn
    from robot_drivers.sim.primera import PTBurnSimulator
    sim = PTBurnSimulator(tmp / "PTBurnJobs", time_scale=TIME_SCALE, robot_root=PTBURN_SHARE,
                          **_sim_options(options))
    return _driver(sim, PrimeraPTBurn, PTBURN_SHARE, tmp, options)


@rig("primera")
def _primera_rig(tmp: Path) -> Iterator[Rig]:
    sim, robot = ptburn(tmp)
    try:
        yield Rig(robot, sim.ledger, sim.inject, sim.clear,
                  {Fault.PRINTER_FAILURE: PrinterFailure, Fault.DRIVE_FAILURE: None, Fault.VERIFY_FAILURE: None,
                   Fault.OFFLINE: RobotOffline}, sim, printed_as=_magic(b"\xff\xd8\xff"))
    finally:
        sim.close()


def tdbridge(tmp: Path, **options: Any) -> tuple[Any, Any]:
    """A TD Bridge simulator and the driver pointed at it, with a .tdd label design on the share."""
    from robot_drivers.hotfolder.epson import EpsonTDBridge
    from robot_drivers.sim.epson import TDBridgeSimulator
    sim = TDBridgeSimulator(tmp / "TDBridge", time_scale=TIME_SCALE, robot_root=TDBRIDGE_SHARE,
                            **_sim_options(options))
    design = sim.folder / "designs" / "patient.tdd"
    design.parent.mkdir()
    design.write_bytes(b"a Total Disc Maker design (its format is Epson's own)")
    options.setdefault("label_template", str(design))
    return _driver(sim, EpsonTDBridge, TDBRIDGE_SHARE, tmp, options)


@rig("epson")
def _epson_rig(tmp: Path) -> Iterator[Rig]:
    sim, robot = tdbridge(tmp)
    try:
        yield Rig(robot, sim.ledger, sim.inject, sim.clear,
                  {Fault.COVER_OPEN: RobotPaused, Fault.EMPTY_INPUT_BIN: RobotPaused,
                   Fault.PRINTER_FAILURE: RobotPaused, Fault.DRIVE_FAILURE: Shortfall,
                   Fault.VERIFY_FAILURE: Shortfall, Fault.OFFLINE: RobotOffline}, sim,
                  printed_as=lambda printed, label: printed.endswith(".tdd"), content=files_digest)
    finally:
        sim.close()


@rig("rimage")
def _rimage_rig(tmp: Path) -> Iterator[Rig]:
    from robot_drivers.hotfolder.rimage import RimageNetworkPublisher
    from robot_drivers.sim.rimage import NetworkPublisherSimulator
    sim = NetworkPublisherSimulator(tmp / "Orders", time_scale=TIME_SCALE, robot_root=NWP_SHARE)
    robot = RimageNetworkPublisher(job_folder=sim.folder, robot_job_folder=NWP_SHARE, lock_dir=tmp / "locks",
                                   **HOT)
    try:
        yield Rig(robot, sim.ledger, sim.inject, sim.clear,
                  {Fault.DRIVE_FAILURE: RobotError, Fault.VERIFY_FAILURE: RobotError}, sim,
                  printed_as=_magic(b"%PDF"))
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
        for _ in gen:
            pass
