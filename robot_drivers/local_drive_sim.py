"""Simulator for :mod:`robot_drivers.local_drive`: a pseudo drive and a person at the tray.

When the tray goes out, the "person" takes the disc (the ledger records its
sha256, the label printed for it and ``Bin.TRAY``); when it goes in, a blank is
there. The optional label printer records what it printed and fails while a
printer fault is injected.
"""
from __future__ import annotations

from pathlib import Path

from robot_drivers import errors
from robot_drivers.local_drive import LocalDrive
from robot_drivers.model import Bin, Fault
from robot_drivers.sim_drive import SimulatedDrive
from robot_drivers.simulation import DiscLedger, DiscRecord, FaultSwitch


class _TrayDrive(SimulatedDrive):
    def __init__(self, sim: "LocalDriveSimulator", path: Path) -> None:
        super().__init__(path, 0, sim.faults)
        self.sim = sim

    def close_tray(self) -> None:
        if not self.has_disc:
            self.insert_blank()

    def open_tray(self) -> None:
        was_written = self.path.is_file() and self.path.stat().st_size > 0
        sha = self.take_disc()
        if was_written:
            self.sim.ledger.add(DiscRecord(self.sim.job_id, sha, self.sim.pending_label, Bin.TRAY, 0))
        self.sim.pending_label = None


class LocalDriveSimulator:
    """A folder holding the pseudo drive ``tray.img``."""

    supported_faults = (Fault.DRIVE_FAILURE, Fault.VERIFY_FAILURE, Fault.PRINTER_FAILURE,
                        Fault.OFFLINE)

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.faults = FaultSwitch()
        self.ledger = DiscLedger()
        self.pending_label: str | None = None
        self.job_id = ""
        self.drive = _TrayDrive(self, folder / "tray.img")

    def inject(self, fault: Fault) -> None:
        self.faults.inject(fault)

    def clear(self) -> None:
        self.faults.clear()

    def print_label(self, label: Path) -> None:
        """The stand-alone label printer."""
        if self.faults.active(Fault.PRINTER_FAILURE):
            raise errors.PrinterFailure("label printer: out of ink", code="ink")
        self.pending_label = str(label)

    def robot(self, **kw: object) -> LocalDrive:
        """A :class:`LocalDrive` wired to this simulator."""
        return LocalDrive(drive=self.drive, label_printer=self.print_label, **kw)  # type: ignore[arg-type]
