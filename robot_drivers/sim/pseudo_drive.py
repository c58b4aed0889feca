"""Simulated drives: a real xorriso ``stdio:`` pseudo drive whose medium a simulator controls,
and the simulator of a plain local drive (that drive plus a person at the tray).

The simulator inserts blank media (an empty file), takes discs out (recording the sha256 of
the ISO volume written on them) and injects media faults: a drive failure makes the medium
unwritable (the path becomes a directory, so xorriso itself fails), a verify failure flips
one byte after the write.

:class:`LocalDriveSimulator`: when the tray goes out, the "person" takes the disc (the ledger
records its sha256, the label printed for it and ``Bin.TRAY``); when it goes in, a blank is
there. The optional label printer records what it printed and fails while a printer fault is
injected.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from robot_drivers import errors
from robot_drivers.drive import XorrisoDrive
from robot_drivers.local import LocalDrive
from robot_drivers.manifest import iso_volume_size, sha256_of
from robot_drivers.model import Bin, Fault
from robot_drivers.sim.ledger import DiscLedger, DiscRecord, FaultSwitch


class SimulatedDrive(XorrisoDrive):
    """A pseudo drive at ``path`` (``stdio:path``) with simulator-controlled media."""

    def __init__(self, path: Path, index: int = 0, faults: FaultSwitch | None = None) -> None:
        super().__init__(f"stdio:{path}", index)
        self.path = path
        self.faults = faults or FaultSwitch()
        self.corrupted_at: int | None = None

    def present(self) -> bool:
        return not self.faults.active(Fault.OFFLINE) and super().present()

    @property
    def has_disc(self) -> bool:
        return self.path.exists()

    def insert_blank(self) -> None:
        """Put a blank disc in the drive; a pending drive failure makes it unwritable."""
        self._clear_path()
        if self.faults.take(Fault.DRIVE_FAILURE):
            self.path.mkdir(parents=True)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(b"")

    def take_disc(self) -> str | None:
        """Remove the disc; return the sha256 of its ISO volume (None if blank or failed)."""
        sha: str | None = None
        if self.path.is_file():
            size = iso_volume_size(self.path)
            sha = sha256_of(self.path, size) if size else None
        self._clear_path()
        return sha

    def after_write(self) -> None:
        """A pending verify failure flips one byte in the middle of the written volume."""
        if self.faults.take(Fault.VERIFY_FAILURE):
            size = iso_volume_size(self.path) or self.path.stat().st_size
            offset = size // 2
            with open(self.path, "r+b") as fh:
                fh.seek(offset)
                byte = fh.read(1)
                fh.seek(offset)
                fh.write(bytes([byte[0] ^ 0xFF]))
            self.corrupted_at = offset

    def _clear_path(self) -> None:
        if self.path.is_dir():
            shutil.rmtree(self.path)
        elif self.path.exists():
            self.path.unlink()


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
