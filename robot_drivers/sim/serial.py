"""Simulator of a serial autoloader on a real pseudo-terminal (``os.openpty``).

Built from the community "Command Sets -- Generic" page (as kept in the r2disc2 README):
single-byte commands with no terminator, each move answered by one character (``X`` done,
``E`` failed), ``V`` answered by the unit's version text, ``S`` by its two-digit status
(00 ok, 14-19 sensor/encoder errors, 21 drive tray empty, 22 no disc from the input bin,
23 printer empty). It never imports driver code: the letters a unit understands are its own
:class:`Unit`, the generic one by default (``V C S I A G R``, one drive, no printer);
:data:`PRINTER_UNIT` is a two-drive unit with a printer, whose extra letters
(``I0``/``I1``..., ``K``, ``W``, ``O``) stand for a real unit's own, to be configured per unit.

It moves discs with realistic times (scaled by ``time_scale``), owns the media of its
drives (``stdio:`` pseudo drives), takes labels from a spool folder when told to print, and
records each disc (sha256, label, bin) in its ledger. Faults: empty input bin (load fails,
status 22), printer empty (print fails, 23), offline (silence), drive and verify failures on
the media; ``garble`` makes replies unreadable. A cover open is not in the generic status
table, so this simulator does not offer it.
"""
from __future__ import annotations

import os
import select
import threading
import tty
from dataclasses import dataclass, field
from pathlib import Path

from robot_drivers.model import Bin, Fault
from robot_drivers.sim.ledger import Clock, DiscLedger, DiscRecord, FaultSwitch
from robot_drivers.sim.pseudo_drive import SimulatedDrive

MOVE_SECONDS = 4.0
PRINT_SECONDS = 25.0


@dataclass(frozen=True)
class Unit:
    """The command letters a unit understands -> its moves; ``drive_digit``: drive moves are
    followed by one digit naming the drive."""

    letters: dict[str, str] = field(default_factory=lambda: {
        "V": "version", "C": "reset", "S": "status", "I": "load", "A": "to_output",
        "G": "pick", "R": "reject"})
    drive_digit: bool = False
    version: str = "GENERIC 1.07"


GENERIC_UNIT = Unit()
PRINTER_UNIT = Unit(letters={**GENERIC_UNIT.letters, "K": "to_printer", "W": "print", "O": "printer_to_output"},
                    drive_digit=True, version="PRINTER UNIT 2.01")
DRIVE_MOVES = ("load", "to_output", "pick")


@dataclass
class _Disc:
    sha256: str | None
    drive: int
    label: str | None = None


class SerialAutoloaderSimulator:
    """A robot with ``drives`` drives, an input bin, a picker, a printer, output and reject bins."""

    supported_faults = (Fault.EMPTY_INPUT_BIN, Fault.DRIVE_FAILURE, Fault.VERIFY_FAILURE,
                        Fault.PRINTER_FAILURE, Fault.OFFLINE)

    def __init__(self, folder: Path, *, drives: int = 1, blanks: int = 50, time_scale: float = 1.0,
                 unit: Unit = GENERIC_UNIT) -> None:
        if drives > 1 and not unit.drive_digit:
            raise ValueError("a unit without drive digits has one drive")
        self.folder = folder
        self.unit = unit
        self.spool = folder / "printer-spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.faults = FaultSwitch()
        self.ledger = DiscLedger()
        self.clock = Clock(time_scale)
        self.blanks = blanks
        self.drives = [SimulatedDrive(folder / f"drive{i}.img", i, self.faults) for i in range(drives)]
        self.picker: _Disc | None = None
        self.printer: _Disc | None = None
        self.status_code = "00"
        self.garble = False
        self.log: list[str] = []  #: every command received, as text
        self.received = b""  #: every byte received
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="serial-sim", daemon=True)
        self._thread.start()

    # -- controls --------------------------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        self.faults.inject(fault)

    def clear(self) -> None:
        self.faults.clear()
        self.garble = False
        self.status_code = "00"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- the device ------------------------------------------------------------------------------
    def _serve(self) -> None:
        buf = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self._master, 256)
            except OSError:
                return
            self.received += chunk
            buf += chunk
            while buf:
                command, buf = self._take_command(buf)
                if command is None:
                    break
                reply = self._handle(command)
                if reply is not None:
                    os.write(self._master, reply)

    def _take_command(self, buf: bytes) -> tuple[str | None, bytes]:
        """One command off the front of ``buf`` (a letter, and a drive digit where the unit
        takes one); bytes of no command are answered ``E`` one by one."""
        letter = chr(buf[0])
        move = self.unit.letters.get(letter)
        if move in DRIVE_MOVES and self.unit.drive_digit:
            if len(buf) < 2:
                return None, buf
            return letter + chr(buf[1]), buf[2:]
        return letter, buf[1:]

    def _handle(self, cmd: str) -> bytes | None:
        self.log.append(cmd)
        if self.faults.active(Fault.OFFLINE):
            return None
        if self.garble:
            return b"\x15\xfe\x07" if len(self.log) % 2 else b"\xff"
        move = self.unit.letters.get(cmd[0])
        if move == "version":
            return self.unit.version.encode()
        if move == "status":
            return self.status_code.encode()
        handler = {"reset": self._reset, "load": self._load, "to_output": self._to_output_from_drive,
                   "pick": self._pick, "reject": self._reject, "to_printer": self._to_printer,
                   "print": self._print, "printer_to_output": self._printer_to_output}.get(move or "")
        if handler is None:
            return b"E"
        try:
            ok = handler(cmd[1:])
        except (ValueError, IndexError):
            ok = False
        self.clock.sleep(MOVE_SECONDS)
        return b"X" if ok else b"E"

    def _drive(self, arg: str) -> SimulatedDrive:
        return self.drives[int(arg or "0")]

    def _reset(self, _: str) -> bool:
        self.status_code = "00"
        return True

    def _load(self, arg: str) -> bool:
        drive = self._drive(arg)
        if self.faults.active(Fault.EMPTY_INPUT_BIN) or self.blanks <= 0:
            self.status_code = "22"
            return False
        if drive.has_disc:
            self.status_code = "21"
            return False
        self.blanks -= 1
        drive.insert_blank()
        self.status_code = "00"
        return True

    def _take(self, arg: str) -> _Disc | None:
        drive = self._drive(arg)
        if not drive.has_disc:
            self.status_code = "21"
            return None
        return _Disc(drive.take_disc(), drive.index)

    def _pick(self, arg: str) -> bool:
        if self.picker is not None:
            return False
        self.picker = self._take(arg)
        return self.picker is not None

    def _to_output_from_drive(self, arg: str) -> bool:
        disc = self._take(arg)
        if disc is None:
            return False
        self._drop(disc, Bin.OUTPUT)
        return True

    def _reject(self, _: str) -> bool:
        """Picker -> reject bin; with an empty picker it fetches the disc in the printer."""
        if self.picker is None and self.printer is not None:
            self.picker, self.printer = self.printer, None
        if self.picker is None:
            return False
        self._drop(self.picker, Bin.REJECT)
        self.picker = None
        return True

    def _to_printer(self, _: str) -> bool:
        if self.picker is None or self.printer is not None:
            return False
        self.printer, self.picker = self.picker, None
        return True

    def _print(self, _: str) -> bool:
        if self.printer is None:
            return False
        if self.faults.active(Fault.PRINTER_FAILURE):
            self.status_code = "23"
            return False
        spooled = sorted(self.spool.iterdir())
        if not spooled:
            return False
        self.printer.label = spooled[-1].name.split("_", 1)[-1]
        for old in spooled:
            old.unlink()
        self.clock.sleep(PRINT_SECONDS)
        return True

    def _printer_to_output(self, _: str) -> bool:
        if self.printer is None:
            return False
        self._drop(self.printer, Bin.OUTPUT)
        self.printer = None
        return True

    def _drop(self, disc: _Disc, where: Bin) -> None:
        self.ledger.add(DiscRecord("", disc.sha256, disc.label, where, disc.drive))
