"""A pure timing simulator of a disc robot: the default robot of the service.

No hardware and no files are written: it takes the time a real robot would
(scaled by ``time_scale``), records each disc in a ledger, and raises the same
typed errors as real drivers when a fault is injected. Drives burn in parallel;
the picker arm and the printer are shared, as on a real robot.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass

from robot_drivers import errors
from robot_drivers.interface import Robot
from robot_drivers.manifest import ImageManifest
from robot_drivers.model import (Bin, BurnRequest, BurnResult, Capabilities, DiscResult,
                                 DriveState, DriveStatus, Fault, MediaType, RobotStatus)
from robot_drivers.simulation import Clock, DiscLedger, DiscRecord, FaultSwitch


@dataclass(frozen=True)
class Timings:
    """Seconds per move and bytes per second per medium, as on a typical 2-drive robot."""

    load: float = 8.0
    unload: float = 6.0
    print_label: float = 20.0
    lead_in_out: float = 20.0
    write_rate: dict[MediaType, float] | None = None  # bytes/s at speed 0 (max)

    def rate(self, media: MediaType) -> float:
        rates = self.write_rate or {MediaType.CD_R: 3.6e6, MediaType.DVD_R: 21e6,
                                    MediaType.DVD_R_DL: 11e6, MediaType.BD_R: 27e6}
        return rates[media]


class TimingSimulator(Robot):
    """A simulated robot: ``drives`` drives, an input bin of ``blanks`` discs, a printer."""

    kind = "simulator"

    def __init__(self, name: str | None = None, *, drives: int = 2, blanks: int = 100,
                 ink_percent: int = 80, time_scale: float = 1.0,
                 timings: Timings | None = None, **kw: object) -> None:
        super().__init__(name, **kw)  # type: ignore[arg-type]
        self.drive_count = drives
        self.blanks = blanks
        self.ink_percent = ink_percent
        self.clock = Clock(time_scale)
        self.timings = timings or Timings()
        self.faults = FaultSwitch()
        self.ledger = DiscLedger()
        self._arm = threading.Lock()
        self._printer = threading.Lock()
        self._state = threading.Lock()
        self._drives = [DriveState.EMPTY] * drives

    # -- simulator controls --------------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        self.faults.inject(fault)

    def clear(self) -> None:
        self.faults.clear()

    # -- Robot ---------------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(kind=self.kind, drives=self.drive_count,
                            media_types=tuple(MediaType), has_printer=True, printer_dpi=600,
                            bin_capacity=100, sequenced_by_us=False)

    def status(self) -> RobotStatus:
        if self.faults.active(Fault.OFFLINE):
            raise errors.RobotOffline(f"simulated robot {self.name} is offline")
        with self._state:
            drives = tuple(DriveStatus(i, s) for i, s in enumerate(self._drives))
        return RobotStatus(online=True, input_bins=(self.blanks,),
                           output_bin=len(self.ledger.in_bin(Bin.OUTPUT)),
                           reject_bin=len(self.ledger.in_bin(Bin.REJECT)), drives=drives,
                           ink_percent={"color": 0 if self.faults.active(Fault.PRINTER_FAILURE)
                                        else self.ink_percent},
                           cover_open=self.faults.active(Fault.COVER_OPEN))

    def _burn(self, request: BurnRequest) -> BurnResult:
        self._check_conditions()
        manifest = ImageManifest.of(request.image_path)
        todo: queue.Queue[int] = queue.Queue()
        for k in range(1, request.copies + 1):
            todo.put(k)
        results: list[DiscResult] = []
        failures: list[errors.RobotError] = []
        lock = threading.Lock()

        def worker(drive: int) -> None:
            while not failures:
                try:
                    k = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    res = self._one_disc(request, manifest, drive, k)
                    with lock:
                        results.append(res)
                except errors.RobotError as exc:
                    with lock:
                        failures.append(exc)
                    return

        threads = [threading.Thread(target=worker, args=(d,), daemon=True)
                   for d in range(min(self.drive_count, request.copies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results.sort(key=lambda r: r.copy_index)
        if failures:
            exc = failures[0]
            exc.discs = results
            raise exc
        return BurnResult(job_id=request.job_id or "", discs=tuple(results))

    # -- one disc ------------------------------------------------------------------------------
    def _check_conditions(self) -> None:
        if self.faults.active(Fault.OFFLINE):
            raise errors.RobotOffline(f"simulated robot {self.name} does not answer")
        if self.faults.active(Fault.COVER_OPEN):
            raise errors.CoverOpen(f"simulated robot {self.name}: cover open")

    def _set_drive(self, drive: int, state: DriveState) -> None:
        with self._state:
            self._drives[drive] = state

    def _one_disc(self, req: BurnRequest, manifest: ImageManifest, drive: int,
                  k: int) -> DiscResult:
        t = self.timings
        label = str(req.label.file) if req.label and req.label.file else None
        with self._arm:
            self._check_conditions()
            if self.faults.active(Fault.EMPTY_INPUT_BIN) or self.blanks <= 0:
                raise errors.EmptyInputBin(f"{self.name}: input bin empty", code="input")
            self.blanks -= 1
            self.clock.sleep(t.load)
        self._set_drive(drive, DriveState.BURNING)
        self.clock.sleep(t.lead_in_out + manifest.size / t.rate(req.media))
        if self.faults.take(Fault.DRIVE_FAILURE):
            self._reject(req, drive, None, label)
            raise errors.DriveFailure(f"{self.name}: drive {drive} record error", code="record")
        sha = manifest.sha256
        if req.verify:
            self._set_drive(drive, DriveState.VERIFYING)
            self.clock.sleep(manifest.size / t.rate(req.media))
            if self.faults.take(Fault.VERIFY_FAILURE):
                self._reject(req, drive, "0" * 64, label)
                raise errors.VerifyFailure(f"{self.name}: drive {drive} verify error",
                                           code="verify")
        with self._printer:
            self._set_drive(drive, DriveState.EMPTY)
            if req.label is not None:
                if self.faults.active(Fault.PRINTER_FAILURE):
                    self._reject(req, None, sha, None)
                    raise errors.PrinterFailure(f"{self.name}: printer out of ink", code="ink")
                self.clock.sleep(t.print_label)
            self.clock.sleep(t.unload)
        self.ledger.add(DiscRecord(req.job_id or "", sha, label, Bin.OUTPUT, drive))
        return DiscResult(copy_index=k, ok=True, bin=Bin.OUTPUT, drive=drive, sha256=sha,
                          label_file=label)

    def _reject(self, req: BurnRequest, drive: int | None, sha: str | None,
                label: str | None) -> None:
        if drive is not None:
            self._set_drive(drive, DriveState.EMPTY)
        self.clock.sleep(self.timings.unload)
        self.ledger.add(DiscRecord(req.job_id or "", sha, label, Bin.REJECT, drive))


