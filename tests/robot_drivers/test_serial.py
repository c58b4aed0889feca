"""Acceptance 2: the serial driver talks to its simulator over a real pseudo-terminal with
pyserial; a garbled or a missing reply ends in a clear error, never a hang."""
from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from robot_drivers import (Bin, EmptyInputBin, Fault, LabelSpec, ProtocolError, RobotOffline,
                           RobotTimeout, create)
from robot_drivers.serial_robot import SerialAutoloader
from robot_drivers.serial_sim import SerialAutoloaderSimulator
from robot_rigs import TIME_SCALE, require_tool


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SerialAutoloaderSimulator]:
    s = SerialAutoloaderSimulator(tmp_path / "serial", drives=2, time_scale=TIME_SCALE)
    yield s
    s.close()


@pytest.fixture
def robot(sim: SerialAutoloaderSimulator, tmp_path: Path) -> Iterator[SerialAutoloader]:
    r = create("serial", port=sim.port, drives=sim.drives, label_spool=sim.spool, timeout=0.3,
               move_timeout=1.0, lock_dir=tmp_path / "locks")
    assert isinstance(r, SerialAutoloader)
    yield r
    r.close()


def test_talks_over_a_real_pty(sim: SerialAutoloaderSimulator, robot: SerialAutoloader) -> None:
    assert os.path.basename(sim.port).isdigit() or "pts" in sim.port
    assert robot.version() == "1.07-SIM"
    assert robot.status_code() == "00"
    assert robot.status().online


def test_missing_reply_times_out_with_a_clear_error(sim: SerialAutoloaderSimulator,
                                                    robot: SerialAutoloader) -> None:
    sim.inject(Fault.OFFLINE)
    started = time.monotonic()
    with pytest.raises(RobotTimeout, match=r"no reply to b'V' within 0.30s") as info:
        robot.version()
    assert isinstance(info.value, RobotOffline)
    assert time.monotonic() - started < 30  # it returned; the bound only guards a hang


def test_garbled_reply_is_a_clear_error(sim: SerialAutoloaderSimulator,
                                        robot: SerialAutoloader) -> None:
    sim.garble = True
    errors_seen = []
    for _ in range(2):  # the simulator alternates: bytes with no CR, then non-ASCII + CR
        with pytest.raises((RobotTimeout, ProtocolError), match="garbled reply") as info:
            robot.version()
        errors_seen.append(type(info.value))
    assert set(errors_seen) == {RobotTimeout, ProtocolError}
    sim.clear()
    assert robot.version() == "1.07-SIM"  # the link recovers: stale bytes are dropped


def test_sequence_of_moves_and_reject_on_empty_bin(sim: SerialAutoloaderSimulator,
                                                   robot: SerialAutoloader, iso_image: Path,
                                                   label_file: Path) -> None:
    require_tool("xorriso")
    robot.burn(iso_image, 2, label=LabelSpec(file=label_file))
    moves = [c for c in sim.log if c[0] not in "VS"]
    assert moves == ["I0", "G0", "K", "W", "O", "I1", "G1", "K", "W", "O"]
    sim.blanks = 1
    with pytest.raises(EmptyInputBin, match="input bin empty") as info:
        robot.burn(iso_image, 2)
    assert info.value.code == "22" and len(info.value.discs) == 1
    assert [r.bin for r in sim.ledger.records] == [Bin.OUTPUT] * 3
