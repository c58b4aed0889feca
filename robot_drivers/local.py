"""A plain local drive burned with xorriso: no robot, a person changes the discs.

Sequence per copy: tray in -> write -> verify (read back, compare with the
manifest) -> print the label on a separate printer if one is given -> tray out.
With more than one copy, ``change_disc`` is called before each further copy so
the caller can wait for a person to put a blank in.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from robot_drivers import errors
from robot_drivers.drive import XorrisoDrive
from robot_drivers.interface import Notify, Robot
from robot_drivers.manifest import ImageManifest
from robot_drivers.model import (Bin, BurnRequest, BurnResult, Capabilities, DiscResult,
                                 DriveState, DriveStatus, Blank, RobotStatus)

LabelPrinter = Callable[[Path], None]


class LocalDrive(Robot):
    """One drive (``/dev/sr0`` or ``stdio:FILE``)."""

    kind = "local"

    def __init__(self, name: str | None = None, *, outdev: str = "/dev/sr0",
                 drive: XorrisoDrive | None = None,
                 media_types: Iterable[Blank | str] = tuple(Blank),
                 change_disc: Callable[[int], None] | None = None,
                 label_printer: LabelPrinter | None = None, **kw: object) -> None:
        super().__init__(name, **kw)  # type: ignore[arg-type]
        self.drive = drive or XorrisoDrive(outdev)
        self.media_types = tuple(Blank.parse(m) for m in media_types)
        self.change_disc = change_disc
        self.label_printer = label_printer
        self._state = DriveState.UNKNOWN

    def device(self) -> str:
        return self.drive.outdev if self.drive.is_pseudo else str(self.drive.device_path.resolve())

    def check(self) -> None:
        if not self.drive.present():
            raise errors.RobotOffline(f"drive {self.drive.outdev} is not present")

    def capabilities(self) -> Capabilities:
        return Capabilities(kind=self.kind, drives=1, media_types=self.media_types,
                            input_bins=0, output_bins=0, has_reject_bin=False,
                            has_printer=self.label_printer is not None, sequenced_by_us=True)

    def status(self) -> RobotStatus:
        online = self.drive.present()
        return RobotStatus(online=online, drives=(DriveStatus(0, self._state if online
                                                              else DriveState.ERROR),),
                           errors=() if online else (f"{self.drive.outdev} not present",))

    def _burn(self, request: BurnRequest, notify: Notify) -> BurnResult:
        if not self.drive.present():
            raise errors.RobotOffline(f"drive {self.drive.outdev} is not present")
        manifest = ImageManifest.of(request.image_path)
        done: list[DiscResult] = []
        for k in range(1, request.copies + 1):
            self.raise_if_cancelled(request, done)
            if k > 1 and self.change_disc is not None:
                notify(f"waiting for the operator: put a blank in {self.drive.outdev} for copy {k}")
                self.change_disc(k)
            try:
                done.append(self._one_disc(request, manifest, k))
            except errors.RobotError as exc:
                exc.discs = list(done)
                raise
        return BurnResult(job_id=request.job_id or "", discs=tuple(done))

    def _one_disc(self, req: BurnRequest, manifest: ImageManifest, k: int) -> DiscResult:
        drive = self.drive
        drive.close_tray()
        try:
            self._state = DriveState.BURNING
            drive.write(req.image_path, req.speed)
            sha = None
            if req.verify:
                self._state = DriveState.VERIFYING
                sha = drive.verify(manifest)
            label = None
            if req.label is not None and req.label.file is not None and self.label_printer:
                self.label_printer(req.label.file)
                label = str(req.label.file)
        except errors.RobotError:
            self._state = DriveState.ERROR
            drive.open_tray()
            raise
        drive.open_tray()
        self._state = DriveState.EMPTY
        return DiscResult(copy_index=k, ok=True, bin=Bin.TRAY, drive=0, sha256=sha,
                          label_file=label)
