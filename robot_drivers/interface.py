"""The one interface every robot driver implements.

A job calls :meth:`Robot.burn` with an image and a number of copies and gets one
:class:`~robot_drivers.model.DiscResult` per disc, or a typed
:class:`~robot_drivers.errors.RobotError`. Robots whose moves we sequence ourselves
(serial autoloaders) also implement :class:`DiscMover`.

:meth:`Robot.burn` may be called from several threads of one process at once: a driver
that can share its robot between requests (``concurrent_burns = True``, e.g. the timing
simulator with its drive pool) runs them side by side, each disc on a free drive; any
other driver runs them one after the other. Either way the robot's cross-process lock
(:mod:`robot_drivers.lock`, named after :meth:`Robot.device`) is held while at least one
burn of this process runs, so two processes never drive the same robot at once.

While a burn waits for a person (a cover open, ink low, a pause at the robot) the driver
says so through the ``notify`` callback of :meth:`Robot.burn` and goes on when the cause
is cleared; :meth:`Robot.cancel` stops a running burn, which then raises
:class:`~robot_drivers.errors.JobCancelled`.
"""
from __future__ import annotations

import abc
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from robot_drivers.errors import JobCancelled, JobRejected
from robot_drivers.lock import RobotLock, SharedRobotLock, machine_lock_dir
from robot_drivers.model import (BurnRequest, BurnResult, Capabilities, DiscResult, LabelSpec,
                                 Blank, RobotStatus)

#: what a driver tells its caller while a burn runs ("waiting for the operator: ...")
Notify = Callable[[str], None]
#: what a driver tells its caller about each disc while a burn runs: (copy, stage, fraction of
#: that copy done, 0..1). Stages: :data:`STAGES`. Drivers that cannot see single discs say nothing.
DiscProgress = Callable[[int, str, float], None]
#: the stages a disc goes through, in order, and the fraction of its work done when each starts
STAGES: dict[str, float] = {"loading": 0.0, "burning": 0.1, "verifying": 0.6, "printing": 0.9,
                            "done": 1.0, "rejected": 1.0}


def _ignore(message: str) -> None:
    """The default ``notify``: nobody listens."""


class Robot(abc.ABC):
    """A disc robot (or a plain drive): capabilities, status and burning."""

    #: registry name, e.g. ``"primera"``
    kind: str = "robot"
    #: whether :meth:`_burn` may run for several requests at once (the driver schedules drives)
    concurrent_burns: bool = False
    #: a simulator: its lock lives where its owner says (never machine-wide, docs/robots.md)
    simulated: bool = False
    #: built on an interface no public document describes precisely: off the defaults
    experimental: bool = False

    def __init__(self, name: str | None = None, lock_dir: Path | str | None = None,
                 lock_timeout: float = 0.0) -> None:
        self.name = name or self.kind
        self._lock_dir = Path(lock_dir) if lock_dir else None
        self._lock_timeout = lock_timeout
        self._lock: RobotLock | None = None
        self._shared_lock: SharedRobotLock | None = None
        self._setup = threading.Lock()
        self._one_at_a_time = threading.Lock()
        self._running: dict[str, int] = {}
        self._cancelled: set[str] = set()
        self._listeners: dict[str, DiscProgress] = {}

    # -- identity and lock ---------------------------------------------------------------------
    def device(self) -> str:
        """What names the physical robot on this machine (a port, a drive, a vendor share):
        the lock file is named after it. Simulators: their own name."""
        return self.name

    @property
    def lock(self) -> RobotLock:
        """The robot's lock: ``lock_dir`` if given; else machine-wide for a real device and
        process-local for a simulator (its owner passes a directory to share it)."""
        with self._setup:
            if self._lock is None:
                where = self._lock_dir or (None if self.simulated else machine_lock_dir())
                self._lock = RobotLock(f"{self.kind}-{self.device()}", where, self._lock_timeout)
            return self._lock

    @property
    def _session(self) -> SharedRobotLock:
        """The lock as this process' burns share it (``users``: burns holding it now)."""
        lock = self.lock
        with self._setup:
            if self._shared_lock is None:
                self._shared_lock = SharedRobotLock(lock)
            return self._shared_lock

    # -- the interface -------------------------------------------------------------------------
    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """Drives, media types, bins and printer of this robot."""

    @abc.abstractmethod
    def status(self) -> RobotStatus:
        """Bin levels, drive states, errors and ink as the robot reports them now."""

    def check(self) -> None:
        """The start-up self-test: raise a :class:`~robot_drivers.errors.RobotError` that says
        what to fix when the robot cannot work as configured (share not writable, vendor
        software not running, unit not answering). Does nothing where nothing can be checked."""

    def media_refusal(self, media: Blank) -> str:
        """Why ``media`` cannot be burned here (the message of the refusal)."""
        loads = ", ".join(m.value for m in self.capabilities().media_types)
        return f"{self.kind} robot {self.name} cannot burn {media.value}: it is set up for {loads}"

    def burn(self, image_path: Path | str, copies: int = 1, *, label: LabelSpec | None = None,
             verify: bool = True, media: Blank = Blank.CD_R, volume_name: str = "DICOM",
             speed: int = 0, job_id: str | None = None, notify: Notify | None = None,
             on_disc: DiscProgress | None = None) -> BurnResult:
        """Burn ``copies`` discs of ``image_path``, verify them, print ``label`` on each.

        Thread safe: concurrent calls share the robot when the driver allows it
        (:attr:`concurrent_burns`), else they take turns. Holds the robot's cross-process
        lock while working (shared by this process' concurrent burns; another process gets
        :class:`~robot_drivers.errors.RobotBusy`). ``notify`` hears what the robot waits for,
        ``on_disc`` each disc's stage (:data:`DiscProgress`) where the driver can see it.
        Raises a typed :class:`~robot_drivers.errors.RobotError`; discs finished before the
        error are in its ``discs`` attribute. Fewer good discs than ``copies`` is an error
        (:class:`~robot_drivers.errors.Shortfall`), never a success.
        """
        image = Path(image_path)
        if copies < 1:
            raise JobRejected(f"copies must be >= 1, not {copies}")
        if not image.is_file():
            raise JobRejected(f"image {image} does not exist")
        if media not in self.capabilities().media_types:
            raise JobRejected(self.media_refusal(media))
        request = BurnRequest(image_path=image, copies=copies, label=label, verify=verify,
                              media=media, volume_name=volume_name, speed=speed,
                              job_id=job_id or uuid.uuid4().hex[:16].upper())
        key = request.job_id or ""
        with self._session:
            self._started(key)
            if on_disc is not None:
                with self._setup:
                    self._listeners[key] = on_disc
            try:
                if self.concurrent_burns:
                    return self._burn(request, notify or _ignore)
                with self._one_at_a_time:
                    self.raise_if_cancelled(request)
                    return self._burn(request, notify or _ignore)
            finally:
                self._finished(key)

    @abc.abstractmethod
    def _burn(self, request: BurnRequest, notify: Notify) -> BurnResult:
        """Do the work of :meth:`burn` (the lock is held; called concurrently only when
        :attr:`concurrent_burns` is true)."""

    # -- cancelling ----------------------------------------------------------------------------
    def cancel(self, job_id: str) -> bool:
        """Ask the running burn of ``job_id`` to stop; True if one is running. The burn then
        ends with :class:`~robot_drivers.errors.JobCancelled` (copies already made are in its
        ``discs``). A burn started later with the same id is not affected."""
        with self._setup:
            if job_id not in self._running:
                return False
            self._cancelled.add(job_id)
            return True

    def disc_progress(self, request: BurnRequest, copy: int, stage: str, fraction: float | None = None) -> None:
        """A driver reports that copy ``copy`` of ``request`` reached ``stage`` (``fraction`` of
        that copy done; by default where :data:`STAGES` puts the stage's start)."""
        with self._setup:
            listener = self._listeners.get(request.job_id or "")
        if listener is not None:
            listener(copy, stage, STAGES.get(stage, 0.0) if fraction is None else min(max(fraction, 0.0), 1.0))

    def cancel_requested(self, request: BurnRequest) -> bool:
        with self._setup:
            return (request.job_id or "") in self._cancelled

    def raise_if_cancelled(self, request: BurnRequest, discs: Sequence[DiscResult] = ()) -> None:
        """Raise :class:`JobCancelled` (with ``discs`` made so far) if ``request`` was cancelled."""
        if self.cancel_requested(request):
            raise JobCancelled(f"{self.kind} job {request.job_id} cancelled", discs=discs)

    def _started(self, key: str) -> None:
        with self._setup:
            self._running[key] = self._running.get(key, 0) + 1

    def _finished(self, key: str) -> None:
        with self._setup:
            self._running[key] -= 1
            if not self._running[key]:
                del self._running[key]
                self._cancelled.discard(key)
                self._listeners.pop(key, None)

    def close(self) -> None:
        """Release resources (ports, threads)."""

    def __enter__(self) -> "Robot":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@runtime_checkable
class DiscMover(Protocol):
    """The moves of a robot we sequence ourselves (input -> drive -> printer -> bin)."""

    def load(self, drive: int) -> None:
        """Input bin -> drive ``drive`` (tray must be out)."""

    def to_printer(self, drive: int) -> None:
        """Drive ``drive`` -> printer."""

    def print_label(self, label_file: Path) -> None:
        """Print ``label_file`` on the disc in the printer."""

    def to_output(self) -> None:
        """Printer -> output bin."""

    def to_reject(self, drive: int) -> None:
        """Drive ``drive`` -> reject bin."""
