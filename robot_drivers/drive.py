"""An optical drive we burn ourselves with ``xorriso`` (local drives, serial robots).

``outdev`` is what xorriso calls a drive: ``/dev/sr0`` for a real one, or
``stdio:/path/file`` for a pseudo drive (a regular file) in tests. Images are
written with xorriso's cdrecord emulation (``-as cdrecord dev=OUTDEV``), which
writes a pre-mastered ISO image as is; verify reads the disc back and compares
it to the image manifest.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from robot_drivers.errors import DriveFailure
from robot_drivers.manifest import ImageManifest, verify_readback


def find_xorriso() -> str:
    """Path of the xorriso program (Debian package ``xorriso``)."""
    exe = shutil.which("xorriso")
    if exe is None:
        raise DriveFailure("xorriso not found: install the Debian package 'xorriso'")
    return exe


class XorrisoDrive:
    """One drive: tray control, write an image, read back and verify."""

    def __init__(self, outdev: str, index: int = 0, *, xorriso: str | None = None,
                 eject: str | None = None, timeout: float = 3600.0) -> None:
        self.outdev = outdev
        self.index = index
        self._xorriso = xorriso
        self._eject = eject
        self.timeout = timeout

    @property
    def is_pseudo(self) -> bool:
        """A ``stdio:`` pseudo drive (a file): it has no tray."""
        return self.outdev.startswith("stdio:")

    @property
    def device_path(self) -> Path:
        """The file or block device to read back from."""
        return Path(self.outdev[len("stdio:"):] if self.is_pseudo else self.outdev)

    def present(self) -> bool:
        """The drive is there: the device node exists (or the pseudo drive's folder)."""
        path = self.device_path
        return path.parent.is_dir() if self.is_pseudo else path.exists()

    # -- tray -------------------------------------------------------------------------------
    def open_tray(self) -> None:
        """Tray out (``eject DEVICE``); nothing to do on a pseudo drive."""
        self._tray([])

    def close_tray(self) -> None:
        """Tray in (``eject -t DEVICE``); nothing to do on a pseudo drive."""
        self._tray(["-t"])

    def _tray(self, args: list[str]) -> None:
        if self.is_pseudo:
            return
        exe = self._eject or shutil.which("eject")
        if exe is None:
            raise DriveFailure("eject not found: install the Debian package 'eject'")
        proc = subprocess.run([exe, *args, str(self.device_path)], capture_output=True,
                              text=True, timeout=60)
        if proc.returncode != 0:
            raise DriveFailure(f"drive {self.index}: tray {'close' if args else 'open'} failed: "
                               f"{proc.stderr.strip()}", code="tray")

    # -- work -------------------------------------------------------------------------------
    def write(self, image: Path, speed: int = 0) -> None:
        """Write ``image`` onto the blank medium in the drive (speed 0 = maximum)."""
        cmd = [self._xorriso or find_xorriso(), "-as", "cdrecord", "-v", f"dev={self.outdev}",
               "-dao"]
        if speed:
            cmd.append(f"speed={speed}")
        cmd.append(str(image))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            raise DriveFailure(f"drive {self.index}: xorriso did not finish in {self.timeout}s",
                               code="timeout") from exc
        if proc.returncode != 0:
            tail = " | ".join(line for line in proc.stderr.strip().splitlines()[-3:])
            raise DriveFailure(f"drive {self.index} ({self.outdev}): write failed "
                               f"(xorriso exit {proc.returncode}): {tail}",
                               code=str(proc.returncode))
        self.after_write()

    def after_write(self) -> None:
        """Hook run after a successful write (simulated drives inject media faults here)."""

    def verify(self, manifest: ImageManifest) -> str:
        """Read the disc back; return its sha256 or raise :class:`VerifyFailure`."""
        return verify_readback(self.device_path, manifest)
