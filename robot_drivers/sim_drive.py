"""A simulated drive: a real xorriso ``stdio:`` pseudo drive whose medium a simulator controls.

The simulator inserts blank media (an empty file), takes discs out (recording
the sha256 of the ISO volume written on them) and injects media faults: a drive
failure makes the medium unwritable (the path becomes a directory, so xorriso
itself fails), a verify failure flips one byte after the write.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from robot_drivers.drive import XorrisoDrive
from robot_drivers.manifest import iso_volume_size, sha256_of
from robot_drivers.model import Fault
from robot_drivers.simulation import FaultSwitch


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
