"""A pure timing simulator of a disc robot: the default robot of the service.

No hardware and no files are written: it takes the time a real robot would
(scaled by ``time_scale``), records each disc in a ledger, and raises the same
typed errors as real drivers when a fault is injected.

Like a real robot it has ``drives`` drives that burn in parallel, one picker arm and
one label printer, each serving one disc at a time. Several burn requests (jobs) may
run at once (:meth:`Robot.burn` from several threads): every disc waits for a free
drive (:class:`~robot_drivers.sim.drive_pool.DrivePool`, first come first served), then

    arm: input bin -> drive (``load``)
    drive: lead-in/out + write, then read back (verify)
    with the printer free -> arm: drive -> printer (``unload``) -> printer: print, drop in the output bin
    (no label: arm: drive -> output bin; a failure: arm: drive -> reject bin)

Every interval of every resource is recorded in :attr:`TimingSimulator.activity`
(:class:`~robot_drivers.sim.ledger.Activity`), so a test can check from the
simulator's timestamps which moves overlapped.

Each disc's stage is reported as it goes (:meth:`Robot.disc_progress`; writing and reading
back in :data:`STEPS` steps), as the vendors' status files report a running job
(../shared/ROBOTS.md: Primera ``CurrentStatusState``, ``GoodDiscs``; Rimage ``PercentCompleted``,
``Stage``). A cancel (:meth:`Robot.cancel`) starts no further disc, and the discs already in a
drive finish and go to the output bin, as a PTBurn ``Message=ABORT`` or a TD Bridge ``.JCF``
cancel lets the robot end the disc in hand (ROBOTS.md, "Checked against the vendors' manuals").
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from robot_drivers import errors
from robot_drivers.interface import STAGES, Notify, Robot
from robot_drivers.manifest import ImageManifest
from robot_drivers.model import (Bin, BurnRequest, BurnResult, Capabilities, DiscResult,
                                 DriveState, DriveStatus, Fault, Blank, RobotStatus)
from robot_drivers.sim.drive_pool import DiscTimes, DrivePool
from robot_drivers.sim.ledger import (ONE_SHOT, Activity, ActivityLog, Clock, DiscLedger,
                                      DiscRecord, FaultSwitch)


#: how many progress reports writing (and reading back) one disc is split into
STEPS = 5


@dataclass(frozen=True)
class Timings:
    """Seconds per move and bytes per second per medium, as on a typical 2-drive robot."""

    load: float = 8.0
    unload: float = 6.0
    print_label: float = 20.0
    lead_in_out: float = 20.0
    write_rate: dict[Blank, float] | None = None  # bytes/s at speed 0 (max)

    def rate(self, media: Blank) -> float:
        rates = self.write_rate or {Blank.CD_R: 3.6e6, Blank.DVD_R: 21e6,
                                    Blank.DVD_R_DL: 11e6, Blank.BD_R: 27e6,
                                    Blank.BD_R_DL: 27e6}
        return rates[media]

    def disc(self, size: int, media: Blank, *, verify: bool = True,
             label: bool = True) -> DiscTimes:
        """What one good disc of ``size`` bytes takes of each resource (for the lower bound).

        The drive holds the disc from the start of its load to the end of its unload; the
        printer is busy from the start of that unload (the arm puts the disc into it) to the
        end of printing, as :meth:`TimingSimulator._one_disc` runs it."""
        write = size / self.rate(media)
        drive = self.load + self.lead_in_out + write + (write if verify else 0.0) + self.unload
        return DiscTimes(drive=drive, arm=self.load + self.unload,
                         printer=self.unload + self.print_label if label else 0.0,
                         ready=drive - self.unload)


class TimingSimulator(Robot):
    """A simulated robot: ``drives`` drives, an input bin of ``blanks`` discs, a printer."""

    kind = "simulator"
    concurrent_burns = True
    simulated = True

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
        self.activity = ActivityLog()
        self._pool = DrivePool(drives)
        self._arm = threading.Lock()
        self._printer = threading.Lock()
        self._state = threading.Lock()
        self._drives = [DriveState.EMPTY] * drives
        self._drive_faults: set[tuple[Fault, int]] = set()

    # -- simulator controls --------------------------------------------------------------------
    def inject(self, fault: Fault, drive: int | None = None) -> None:
        """Inject ``fault``; a media fault with ``drive`` hits the next disc in that drive only."""
        if drive is None:
            self.faults.inject(fault)
            return
        if fault not in ONE_SHOT or not 0 <= drive < self.drive_count:
            raise ValueError(f"{fault.value} cannot be injected into drive {drive}")
        with self._state:
            self._drive_faults.add((fault, drive))

    def clear(self) -> None:
        self.faults.clear()
        with self._state:
            self._drive_faults.clear()

    @contextmanager
    def arm_stopped(self) -> Iterator[None]:
        """Hold the picker arm (as a jam being cleared would): no disc moves until the end."""
        with self._arm:
            yield

    def _take(self, fault: Fault, drive: int) -> bool:
        with self._state:
            if (fault, drive) in self._drive_faults:
                self._drive_faults.discard((fault, drive))
                return True
        return self.faults.take(fault)

    # -- Robot ---------------------------------------------------------------------------------
    def capabilities(self) -> Capabilities:
        return Capabilities(kind=self.kind, drives=self.drive_count,
                            media_types=tuple(Blank), has_printer=True, printer_dpi=600,
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

    def _burn(self, request: BurnRequest, notify: Notify) -> BurnResult:
        """The copies of ``request``, each on the next free drive; other requests may run beside."""
        self._check_conditions()
        manifest = ImageManifest.of(request.image_path)
        todo: queue.Queue[int] = queue.Queue()
        for k in range(1, request.copies + 1):
            todo.put(k)
        results: list[DiscResult] = []
        failures: list[errors.RobotError] = []
        lock = threading.Lock()

        def worker() -> None:
            while not failures:
                if self.cancel_requested(request):
                    with lock:
                        failures.append(errors.JobCancelled(f"simulated job {request.job_id} cancelled"))
                    self._pool.wake()
                    return
                try:
                    k = todo.get_nowait()
                except queue.Empty:
                    return
                drive = self._pool.acquire(cancelled=lambda: bool(failures) or self.cancel_requested(request))
                if drive is None:
                    if not failures:
                        todo.put(k)  # given back: the cancel check above decides
                    continue
                slot = _Reserved(self._pool, drive)
                try:
                    res = self._one_disc(request, manifest, slot, k)
                except errors.RobotError as exc:
                    with lock:
                        failures.append(exc)
                    self._pool.wake()  # this request's copies waiting for a drive give up
                    return
                finally:
                    slot.release()
                with lock:
                    results.append(res)

        # at most one disc per drive and one in the printer are under way at a time
        threads = [threading.Thread(target=worker, daemon=True, name=f"{request.job_id}-{n}")
                   for n in range(min(self.drive_count + 1, request.copies))]
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

    def _record(self, resource: str, what: str, req: BurnRequest, start: float,
                drive: int | None = None) -> None:
        self.activity.add(Activity(resource, what, req.job_id or "", start, self.clock.now(), drive))

    def _one_disc(self, req: BurnRequest, manifest: ImageManifest, slot: "_Reserved",
                  k: int) -> DiscResult:
        """Disc ``k`` of ``req`` through the drive reserved in ``slot`` (given back as soon as
        the disc leaves it), then the printer."""
        t = self.timings
        drive = slot.drive
        label = str(req.label.file) if req.label and req.label.file else None
        with self._arm:
            self._check_conditions()
            if self.faults.active(Fault.EMPTY_INPUT_BIN) or self.blanks <= 0:
                raise errors.EmptyInputBin(f"{self.name}: input bin empty", code="input")
            self.blanks -= 1
            self.disc_progress(req, k, "loading")
            loaded = self.clock.now()
            self._set_drive(drive, DriveState.LOADED)
            self.clock.sleep(t.load)
            self._record("arm", "load", req, loaded, drive)
        self._set_drive(drive, DriveState.BURNING)
        self._in_steps(req, k, "burning", "verifying", t.lead_in_out + manifest.size / t.rate(req.media))
        if self._take(Fault.DRIVE_FAILURE, drive):
            self._reject(req, slot, None, label, loaded, k)
            raise errors.DriveFailure(f"{self.name}: drive {drive} record error", code="record")
        sha = manifest.sha256
        if req.verify:
            self._set_drive(drive, DriveState.VERIFYING)
            self._in_steps(req, k, "verifying", "printing", manifest.size / t.rate(req.media))
            if self._take(Fault.VERIFY_FAILURE, drive):
                self._reject(req, slot, "0" * 64, label, loaded, k)
                raise errors.VerifyFailure(f"{self.name}: drive {drive} verify error",
                                           code="verify")
        if req.label is None:
            self._unload(req, slot, loaded, "unload")
        else:
            with self._printer:
                if self.faults.active(Fault.PRINTER_FAILURE):
                    self._reject(req, slot, sha, None, loaded, k)
                    raise errors.PrinterFailure(f"{self.name}: printer out of ink", code="ink")
                self._unload(req, slot, loaded, "unload")
                self.disc_progress(req, k, "printing")
                printing = self.clock.now()
                self.clock.sleep(t.print_label)
                self._record("printer", "print", req, printing, drive)
        self.ledger.add(DiscRecord(req.job_id or "", sha, label, Bin.OUTPUT, drive))
        self.disc_progress(req, k, "done")
        return DiscResult(copy_index=k, ok=True, bin=Bin.OUTPUT, drive=drive, sha256=sha,
                          label_file=label)

    def _unload(self, req: BurnRequest, slot: "_Reserved", loaded: float, what: str,
                release: bool = True) -> None:
        """The arm takes the disc out of its drive (to the printer, output or reject bin); the
        drive goes back to the pool for the next disc (after a failure, only once the request
        knows it failed: see :meth:`_burn`)."""
        with self._arm:
            moving = self.clock.now()
            self.clock.sleep(self.timings.unload)
            self._set_drive(slot.drive, DriveState.EMPTY)
            self._record("arm", what, req, moving, slot.drive)
            self._record(f"drive{slot.drive}", "disc", req, loaded, slot.drive)
            if release:
                slot.release()

    def _in_steps(self, req: BurnRequest, k: int, stage: str, until: str, seconds: float) -> None:
        """Sleep ``seconds`` of ``stage`` in :data:`STEPS` parts, reporting the fraction done."""
        start, end = STAGES[stage], STAGES[until]
        for step in range(STEPS):
            self.disc_progress(req, k, stage, start + (end - start) * step / STEPS)
            self.clock.sleep(seconds / STEPS)

    def _reject(self, req: BurnRequest, slot: "_Reserved", sha: str | None, label: str | None,
                loaded: float, k: int) -> None:
        self._unload(req, slot, loaded, "reject", release=False)
        self.ledger.add(DiscRecord(req.job_id or "", sha, label, Bin.REJECT, slot.drive))
        self.disc_progress(req, k, "rejected")


class _Reserved:
    """A drive taken from the pool for one disc; released once, when the disc leaves it."""

    def __init__(self, pool: DrivePool, drive: int) -> None:
        self.pool, self.drive = pool, drive
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self.pool.release(self.drive)
