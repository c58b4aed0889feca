"""Acceptance 5 of issue 17: the serial driver talks to its pseudo-terminal simulator with
single-byte commands and single-character replies (the generic command set: no terminator,
``X``/``E``); the command table is configured per unit; a probe identifies the unit; a
garbled or a missing reply ends in a clear error, never a hang."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from robot_drivers import (Bin, EmptyInputBin, Fault, LabelSpec, ProtocolError, RobotError,
                           RobotOffline, RobotTimeout, create)
from robot_drivers.serial.autoloader import SerialAutoloader
from robot_drivers.sim.serial import PRINTER_UNIT, SerialAutoloaderSimulator
from tests.support.robot_rigs import PRINTER_COMMANDS, TIME_SCALE
from tests.support.tools import require_tool


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SerialAutoloaderSimulator]:
    s = SerialAutoloaderSimulator(tmp_path / "serial", drives=1, time_scale=TIME_SCALE)
    yield s
    s.close()


@pytest.fixture
def robot(sim: SerialAutoloaderSimulator, tmp_path: Path) -> Iterator[SerialAutoloader]:
    r = create("serial", port=sim.port, drives=sim.drives, timeout=0.3, move_timeout=1.0, reply_gap=0.05,
               lock_dir=tmp_path / "locks")
    assert isinstance(r, SerialAutoloader)
    yield r
    r.close()


def test_generic_set_single_bytes_and_single_character_replies(sim: SerialAutoloaderSimulator,
                                                               robot: SerialAutoloader, iso_image: Path,
                                                               label_file: Path) -> None:
    """Documented keys checked: V (version), S (status, two digits), I, A (moves answered X)."""
    require_tool("xorriso")
    assert robot.probe() == "GENERIC 1.07"  # the unit says who it is
    assert robot.status_code().code == "00"
    result = robot.burn(iso_image, 2, label=LabelSpec(file=label_file))
    assert result.good == 2
    assert all(len(cmd) == 1 for cmd in sim.log), sim.log  # one byte per command
    assert b"\r" not in sim.received and b"\n" not in sim.received  # no terminator
    assert [c for c in sim.log if c not in "VS"] == ["I", "A", "I", "A"]
    assert not robot.capabilities().has_printer  # the generic set has no printer moves
    assert [r.label for r in sim.ledger.records] == [None, None]


def test_check_identifies_the_unit(sim: SerialAutoloaderSimulator, tmp_path: Path) -> None:
    good = SerialAutoloader(port=sim.port, drives=sim.drives, timeout=0.3, reply_gap=0.05,
                            expect_version="GENERIC", lock_dir=tmp_path)
    good.check()
    other = SerialAutoloader(port=sim.port, drives=sim.drives, timeout=0.3, reply_gap=0.05,
                             expect_version="DTP-4500", lock_dir=tmp_path)
    with pytest.raises(ProtocolError, match="says 'GENERIC 1.07', not 'DTP-4500'"):
        other.check()
    good.close()
    other.close()


def test_missing_reply_times_out_with_a_clear_error(sim: SerialAutoloaderSimulator,
                                                    robot: SerialAutoloader) -> None:
    sim.inject(Fault.OFFLINE)
    started = time.monotonic()
    with pytest.raises(RobotTimeout, match=r"no reply to b'V' within 0.30s") as info:
        robot.probe()
    assert isinstance(info.value, RobotOffline)
    assert time.monotonic() - started < 30  # it returned; the bound only guards a hang


def test_garbled_reply_is_a_clear_error(sim: SerialAutoloaderSimulator, robot: SerialAutoloader) -> None:
    sim.garble = True
    for _ in range(2):  # the simulator alternates between several bytes and one, none readable
        with pytest.raises(ProtocolError, match="garbled reply"):
            robot.probe()
    sim.clear()
    assert robot.probe() == "GENERIC 1.07"  # the link recovers: stale bytes are dropped


def test_unknown_status_is_reported_with_its_number(sim: SerialAutoloaderSimulator, robot: SerialAutoloader) -> None:
    sim.blanks = 0
    with pytest.raises(EmptyInputBin) as empty:
        robot.load(0)  # E, then S says 22
    assert empty.value.code == "22"
    sim.status_code = "65"  # a code the generic table does not have
    with pytest.raises(RobotError, match="unknown status 65") as info:
        robot.move("reject")  # nothing in the picker: E, then S says 65
    assert type(info.value) is RobotError and info.value.code == "65"


def test_configured_unit_with_two_drives_and_a_printer(tmp_path: Path, iso_image: Path,
                                                       label_file: Path) -> None:
    require_tool("xorriso")
    sim = SerialAutoloaderSimulator(tmp_path / "unit", drives=2, time_scale=TIME_SCALE, unit=PRINTER_UNIT)
    robot = SerialAutoloader(port=sim.port, drives=sim.drives, commands=PRINTER_COMMANDS, label_spool=sim.spool,
                             timeout=0.3, move_timeout=1.0, reply_gap=0.05, lock_dir=tmp_path / "locks")
    try:
        robot.burn(iso_image, 2, label=LabelSpec(file=label_file))
        moves = [c for c in sim.log if c[0] not in "VS"]
        assert moves == ["I0", "G0", "K", "W", "O", "I1", "G1", "K", "W", "O"]
        sim.blanks = 1
        with pytest.raises(EmptyInputBin, match="input bin") as info:
            robot.burn(iso_image, 2)
        assert info.value.code == "22" and len(info.value.discs) == 1
        assert [r.bin for r in sim.ledger.records] == [Bin.OUTPUT] * 3
    finally:
        robot.close()
        sim.close()


def test_several_drives_need_a_table_that_names_them(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="names no drive"):
        SerialAutoloader(port="/dev/null", drives=["/dev/sr0", "/dev/sr1"], lock_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown move"):
        SerialAutoloader(port="/dev/null", drives=["/dev/sr0"], commands={"lode": "I"}, lock_dir=tmp_path)
