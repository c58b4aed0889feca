"""A serial (RS-232) autoloader whose moves we sequence ourselves, burning with xorriso.

Per disc: tray out -> ``I`` load -> tray in -> write -> verify -> tray out ->
``G`` pick -> (``K`` to printer -> spool label + ``W`` print -> ``O`` output) or
``A`` straight to output when there is no label; on a failure ``G`` + ``R`` reject.
Every ``E`` reply is explained by an ``S`` status query and raised as a typed error.
"""
from __future__ import annotations

import itertools
import shutil
from collections.abc import Sequence
from pathlib import Path

from robot_drivers import errors
from robot_drivers.drive import XorrisoDrive
from robot_drivers.interface import Robot
from robot_drivers.manifest import ImageManifest
from robot_drivers.model import (Bin, BurnRequest, BurnResult, Capabilities, DiscResult,
                                 DriveState, DriveStatus, MediaType, RobotStatus)
from robot_drivers.serial_link import SerialLink
from robot_drivers.serial_protocol import FAIL, OK, encode, parse_status


class SerialAutoloader(Robot):
    """Driver of a generic serial autoloader (command set in :mod:`serial_protocol`)."""

    kind = "serial"

    def __init__(self, name: str | None = None, *, port: str, drives: Sequence[XorrisoDrive | str],
                 baudrate: int = 9600, timeout: float = 2.0, move_timeout: float = 60.0,
                 label_spool: Path | None = None,
                 media_types: tuple[MediaType, ...] = (MediaType.CD_R, MediaType.DVD_R),
                 **kw: object) -> None:
        super().__init__(name, **kw)  # type: ignore[arg-type]
        self.port = port
        self.baudrate = baudrate
        self.timeout = timeout
        self.move_timeout = move_timeout
        self.drives = [d if isinstance(d, XorrisoDrive) else XorrisoDrive(d, i)
                       for i, d in enumerate(drives)]
        self.label_spool = label_spool
        self.media_types = media_types
        self._link: SerialLink | None = None
        self._seq = itertools.count(1)

    # -- link --------------------------------------------------------------------------------
    @property
    def link(self) -> SerialLink:
        if self._link is None:
            self._link = SerialLink(self.port, self.baudrate, self.timeout)
        return self._link

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def version(self) -> str:
        reply = self.link.command(encode("V"))
        if not reply.startswith("V"):
            raise errors.ProtocolError(f"bad version reply {reply!r}")
        return reply[1:]

    def status_code(self) -> str:
        """The raw two-digit status."""
        return parse_status(self.link.command(encode("S"))).code

    def move(self, letter: str, drive: int | None = None) -> None:
        """Send one move; on ``E`` ask the status and raise its typed error."""
        reply = self.link.command(encode(letter, drive), self.move_timeout)
        if reply == OK:
            return
        if reply != FAIL:
            raise errors.ProtocolError(f"{self.port}: unexpected reply {reply!r} to {letter}")
        status = parse_status(self.link.command(encode("S")))
        err = status.error or errors.RobotError
        where = f" (drive {drive})" if drive is not None else ""
        raise err(f"{self.name}: move {letter}{where} failed: {status.meaning}",
                  code=status.code)

    # -- DiscMover ---------------------------------------------------------------------------
    def load(self, drive: int) -> None:
        self.move("I", drive)

    def to_printer(self, drive: int) -> None:
        self.move("G", drive)
        self.move("K")

    def print_label(self, label_file: Path) -> None:
        if self.label_spool is None:
            raise errors.PrinterFailure(f"{self.name}: no label spool folder configured")
        self.label_spool.mkdir(parents=True, exist_ok=True)
        spooled = self.label_spool / f"{next(self._seq):06d}_{label_file.name}"
        shutil.copy(label_file, spooled)
        try:
            self.move("W")
        finally:
            spooled.unlink(missing_ok=True)

    def to_output(self) -> None:
        self.move("O")

    def to_reject(self, drive: int) -> None:
        self.move("G", drive)
        self.move("R")

    # -- Robot -------------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(kind=self.kind, drives=len(self.drives), media_types=self.media_types,
                            has_printer=self.label_spool is not None, sequenced_by_us=True)

    def status(self) -> RobotStatus:
        status = parse_status(self.link.command(encode("S")))
        drives = tuple(DriveStatus(d.index, DriveState.UNKNOWN if d.present() else DriveState.ERROR)
                       for d in self.drives)
        return RobotStatus(online=True, drives=drives,
                           cover_open=status.code == "30",
                           errors=() if status.error is None else (status.meaning,),
                           raw={"status": status.code})

    def _burn(self, request: BurnRequest) -> BurnResult:
        self.version()  # is it there at all?
        status = parse_status(self.link.command(encode("S")))
        if status.error is not None:
            raise status.error(f"{self.name}: {status.meaning}", code=status.code)
        manifest = ImageManifest.of(request.image_path)
        done: list[DiscResult] = []
        for k in range(1, request.copies + 1):
            drive = self.drives[(k - 1) % len(self.drives)]
            try:
                done.append(self._one_disc(request, manifest, drive, k))
            except errors.RobotError as exc:
                exc.discs = list(done)
                raise
        return BurnResult(job_id=request.job_id or "", discs=tuple(done))

    def _one_disc(self, req: BurnRequest, manifest: ImageManifest, drive: XorrisoDrive,
                  k: int) -> DiscResult:
        drive.open_tray()
        self.load(drive.index)
        drive.close_tray()
        try:
            drive.write(req.image_path, req.speed)
            sha = drive.verify(manifest) if req.verify else None
        except (errors.DriveFailure, errors.VerifyFailure):
            drive.open_tray()
            self.to_reject(drive.index)
            raise
        drive.open_tray()
        label = req.label.file if req.label and req.label.file else None
        if label is not None and self.label_spool is not None:
            self.to_printer(drive.index)
            try:
                self.print_label(label)
            except errors.PrinterFailure:
                self._reject_from_printer()
                raise
            self.to_output()
        else:
            self.move("A", drive.index)
        return DiscResult(copy_index=k, ok=True, bin=Bin.OUTPUT, drive=drive.index, sha256=sha,
                          label_file=str(label) if label else None)

    def _reject_from_printer(self) -> None:
        """After a print failure: ``R`` fetches the unprinted disc from the printer to reject."""
        try:
            self.move("R")
        except errors.RobotError:
            pass  # the disc stays in the printer; a person removes it
