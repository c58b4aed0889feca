"""A serial (RS-232) autoloader whose moves we sequence ourselves, burning with xorriso.

Per disc: tray out -> ``load`` -> tray in -> write -> verify -> tray out -> then, with a
printer configured, ``pick`` -> ``to_printer`` -> spool label + ``print_label`` ->
``printer_to_output``; without one ``to_output``; on a failure ``pick`` + ``reject``. Every
``E`` reply is explained by a ``status`` query and raised as a typed error. The commands come
from the unit's :class:`~robot_drivers.serial.protocol.CommandTable` (the generic set by
default: single bytes, one drive, no printer); :meth:`SerialAutoloader.probe` asks the unit
who it is (``V``), and :meth:`SerialAutoloader.check` does so at start-up.
"""
from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from robot_drivers import errors
from robot_drivers.drive import XorrisoDrive
from robot_drivers.interface import Notify, Robot
from robot_drivers.manifest import ImageManifest
from robot_drivers.model import (Bin, BurnRequest, BurnResult, Capabilities, DiscResult,
                                 DriveState, DriveStatus, Blank, RobotStatus)
from robot_drivers.serial.link import SerialLink
from robot_drivers.serial.protocol import FAIL, OK, CommandTable, StatusCode, parse_status


class SerialAutoloader(Robot):
    """Driver of a serial autoloader (command table per unit, see the module docstring)."""

    kind = "serial"

    def __init__(self, name: str | None = None, *, port: str, drives: Sequence[XorrisoDrive | str],
                 baudrate: int = 9600, parity: str = "N", rtscts: bool = False, timeout: float = 2.0,
                 move_timeout: float = 60.0, reply_gap: float = 0.1,
                 commands: CommandTable | Mapping[str, Any] | None = None, label_spool: Path | str | None = None,
                 media_types: Iterable[Blank | str] = (Blank.CD_R, Blank.DVD_R),
                 expect_version: str = "", lock_dir: Path | str | None = None, lock_timeout: float = 0.0) -> None:
        super().__init__(name, lock_dir, lock_timeout)
        self.port = port
        self.link_options = {"baudrate": baudrate, "parity": parity, "rtscts": rtscts,
                             "reply_gap": reply_gap}
        self.timeout = timeout
        self.move_timeout = move_timeout
        self.commands = CommandTable.of(commands)
        self.drives = [d if isinstance(d, XorrisoDrive) else XorrisoDrive(d, i) for i, d in enumerate(drives)]
        if not self.drives:
            raise ValueError("a serial autoloader needs at least one drive (drives = [\"/dev/sr0\"])")
        if len(self.drives) > 1 and not self.commands.addresses_drives:
            raise ValueError(f"{len(self.drives)} drives, but the command table names no drive "
                             f"(load = {self.commands.load!r}): the generic set drives one; give "
                             f"per-drive commands such as load = \"I{{drive}}\" or configure one drive")
        self.label_spool = Path(label_spool) if label_spool else None
        self.media_types = tuple(Blank.parse(m) for m in media_types)
        self.expect_version = expect_version
        self._link: SerialLink | None = None
        self._seq = itertools.count(1)

    def device(self) -> str:
        return str(Path(self.port).resolve())

    # -- link ------------------------------------------------------------------------------------
    @property
    def link(self) -> SerialLink:
        if self._link is None:
            self._link = SerialLink(self.port, timeout=self.timeout, **self.link_options)  # type: ignore[arg-type]
        return self._link

    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def probe(self) -> str:
        """The unit's answer to the version command (its identity)."""
        return self.link.ask_text(self.commands.encode("version"))

    def version(self) -> str:
        return self.probe()

    def status_code(self) -> StatusCode:
        return parse_status(self.link.ask_text(self.commands.encode("status")))

    def check(self) -> None:
        """The unit answers ``V`` (and says what ``expect_version`` expects) and ``S``."""
        try:
            identity = self.probe()
        except errors.RobotOffline as exc:
            raise errors.RobotOffline(f"serial autoloader on {self.port} does not answer the version "
                                      f"command: {exc.message}") from exc
        if self.expect_version and self.expect_version not in identity:
            raise errors.ProtocolError(f"serial unit on {self.port} says {identity!r}, not "
                                       f"{self.expect_version!r}: another unit, or another command set?")
        self.status_code()

    def move(self, move: str, drive: int | None = None) -> None:
        """Send one move; on ``E`` ask the status and raise its typed error."""
        sent = self.commands.encode(move, drive)
        reply = self.link.ask_char(sent, self.move_timeout)
        if reply == OK:
            return
        if reply != FAIL:
            raise errors.ProtocolError(f"{self.port}: unexpected reply {reply!r} to {sent!r}")
        status = self.status_code()
        where = f" (drive {drive})" if drive is not None else ""
        raise (status.error or errors.RobotError)(f"{self.name}: {move}{where} failed: {status.meaning}",
                                                  code=status.code)

    # -- DiscMover -------------------------------------------------------------------------------
    def load(self, drive: int) -> None:
        self.move("load", drive)

    def to_printer(self, drive: int) -> None:
        self.move("pick", drive)
        self.move("to_printer")

    def print_label(self, label_file: Path) -> None:
        if self.label_spool is None:
            raise errors.PrinterFailure(f"{self.name}: no label spool folder configured")
        self.label_spool.mkdir(parents=True, exist_ok=True)
        spooled = self.label_spool / f"{next(self._seq):06d}_{label_file.name}"
        shutil.copy(label_file, spooled)
        try:
            self.move("print_label")
        finally:
            spooled.unlink(missing_ok=True)

    def to_output(self) -> None:
        self.move("printer_to_output")

    def to_reject(self, drive: int) -> None:
        self.move("pick", drive)
        self.move("reject")

    # -- Robot -----------------------------------------------------------------------------------
    @property
    def has_printer(self) -> bool:
        return self.commands.prints and self.label_spool is not None

    def capabilities(self) -> Capabilities:
        return Capabilities(kind=self.kind, drives=len(self.drives), media_types=self.media_types,
                            has_printer=self.has_printer, sequenced_by_us=True)

    def status(self) -> RobotStatus:
        status = self.status_code()
        drives = tuple(DriveStatus(d.index, DriveState.UNKNOWN if d.present() else DriveState.ERROR)
                       for d in self.drives)
        return RobotStatus(online=True, drives=drives,
                           errors=() if status.error is None else (status.meaning,),
                           raw={"status": status.code})

    def _burn(self, request: BurnRequest, notify: Notify) -> BurnResult:
        self.probe()  # is it there at all?
        status = self.status_code()
        if status.error is not None:
            raise status.error(f"{self.name}: {status.meaning}", code=status.code)
        manifest = ImageManifest.of(request.image_path)
        done: list[DiscResult] = []
        for k in range(1, request.copies + 1):
            self.raise_if_cancelled(request, done)
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
        if label is not None and self.has_printer:
            self.to_printer(drive.index)
            try:
                self.print_label(label)
            except errors.PrinterFailure:
                self._reject_from_printer()
                raise
            self.to_output()
        else:
            self.move("to_output", drive.index)
            label = None
        return DiscResult(copy_index=k, ok=True, bin=Bin.OUTPUT, drive=drive.index, sha256=sha,
                          label_file=str(label) if label else None)

    def _reject_from_printer(self) -> None:
        """After a print failure: ``reject`` with the disc still in the printer (units differ)."""
        try:
            self.move("reject")
        except errors.RobotError:
            pass  # the disc stays in the printer; a person removes it
