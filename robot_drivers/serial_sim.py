"""Simulator of a serial autoloader on a real pseudo-terminal (``os.openpty``).

It answers the command set of :mod:`serial_protocol` with realistic move times
(scaled by ``time_scale``), owns the media of its drives (``stdio:`` pseudo
drives, see :mod:`sim_drive`), takes labels from a spool folder when told to
print, and records each disc (sha256, label, bin) in its ledger.

Faults: empty input bin (``I`` fails, status 22), printer empty (``W`` fails,
status 23), cover open (every move fails, status 30), offline (silence), drive
and verify failures on the media; ``garble`` makes replies unreadable.
"""
from __future__ import annotations

import os
import select
import threading
import tty
from dataclasses import dataclass
from pathlib import Path

from robot_drivers.model import Bin, Fault
from robot_drivers.sim_drive import SimulatedDrive
from robot_drivers.simulation import Clock, DiscLedger, DiscRecord, FaultSwitch

MOVE_SECONDS = 4.0
PRINT_SECONDS = 25.0


@dataclass
class _Disc:
    sha256: str | None
    drive: int
    label: str | None = None


class SerialAutoloaderSimulator:
    """A robot with ``drives`` drives, an input bin, a picker, a printer, output and reject bins."""

    supported_faults = tuple(Fault)
    version = "V1.07-SIM"

    def __init__(self, folder: Path, *, drives: int = 2, blanks: int = 50,
                 time_scale: float = 1.0) -> None:
        self.folder = folder
        self.spool = folder / "printer-spool"
        self.spool.mkdir(parents=True, exist_ok=True)
        self.faults = FaultSwitch()
        self.ledger = DiscLedger()
        self.clock = Clock(time_scale)
        self.blanks = blanks
        self.drives = [SimulatedDrive(folder / f"drive{i}.img", i, self.faults)
                       for i in range(drives)]
        self.picker: _Disc | None = None
        self.printer: _Disc | None = None
        self.status_code = "00"
        self.garble = False
        self.log: list[str] = []
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="serial-sim", daemon=True)
        self._thread.start()

    # -- controls ----------------------------------------------------------------------------
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

    # -- the device --------------------------------------------------------------------------
    def _serve(self) -> None:
        buf = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                buf += os.read(self._master, 256)
            except OSError:
                return
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                reply = self._handle(line.decode("ascii", "replace").strip())
                if reply is not None:
                    os.write(self._master, reply)

    def _handle(self, cmd: str) -> bytes | None:
        self.log.append(cmd)
        if self.faults.active(Fault.OFFLINE):
            return None
        if self.garble:
            return b"\x15\xfe?\x07" if len(self.log) % 2 else b"\xff\xfe\r"
        if not cmd:
            return b"E\r"
        letter, arg = cmd[0], cmd[1:]
        if letter == "V":
            return self.version.encode() + b"\r"
        if letter == "S":
            return f"S{self._status()}\r".encode()
        handler = {"C": self._reset, "I": self._load, "A": self._to_output_from_drive,
                   "G": self._pick, "R": self._reject, "K": self._to_printer,
                   "W": self._print, "O": self._printer_to_output}.get(letter)
        if handler is None:
            return b"E\r"
        if self.faults.active(Fault.COVER_OPEN):
            self.status_code = "30"
            return b"E\r"
        try:
            ok = handler(arg)
        except (ValueError, IndexError):
            ok = False
        self.clock.sleep(MOVE_SECONDS)
        return b"X\r" if ok else b"E\r"

    def _status(self) -> str:
        if self.faults.active(Fault.COVER_OPEN):
            return "30"
        return self.status_code

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
            self.status_code = "18"
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
