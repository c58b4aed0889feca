"""The one interface every robot driver implements.

A job calls :meth:`Robot.burn` with an image and a number of copies and gets
one :class:`~robot_drivers.model.DiscResult` per disc, or a typed
:class:`~robot_drivers.errors.RobotError`. Robots whose moves we sequence
ourselves (serial autoloaders) also implement :class:`DiscMover`.

:meth:`Robot.burn` may be called from several threads of one process at once: a
driver that can share its robot between requests (``concurrent_burns = True``,
e.g. the timing simulator with its drive pool) runs them side by side, each disc
on a free drive; any other driver runs them one after the other. Either way the
robot's cross-process lock is held while at least one burn of this process runs,
so two processes never drive the same robot at once.
"""
from __future__ import annotations

import abc
import threading
import uuid
from pathlib import Path
from typing import Protocol, runtime_checkable

from robot_drivers.errors import JobRejected
from robot_drivers.lock import RobotLock, SharedRobotLock
from robot_drivers.model import (BurnRequest, BurnResult, Capabilities, LabelSpec, MediaType,
                                 RobotStatus)


class Robot(abc.ABC):
    """A disc robot (or a plain drive): capabilities, status and burning."""

    #: registry name, e.g. ``"primera"``
    kind: str = "robot"
    #: whether :meth:`_burn` may run for several requests at once (the driver schedules drives)
    concurrent_burns: bool = False

    def __init__(self, name: str | None = None, lock_dir: Path | None = None,
                 lock_timeout: float = 0.0) -> None:
        self.name = name or self.kind
        self.lock = RobotLock(f"{self.kind}-{self.name}", lock_dir, lock_timeout)
        self._session = SharedRobotLock(self.lock)
        self._one_at_a_time = threading.Lock()

    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """Drives, media types, bins and printer of this robot."""

    @abc.abstractmethod
    def status(self) -> RobotStatus:
        """Bin levels, drive states, errors and ink as the robot reports them now."""

    def burn(self, image_path: Path | str, copies: int = 1, *, label: LabelSpec | None = None,
             verify: bool = True, media: MediaType = MediaType.CD_R, volume_name: str = "DICOM",
             speed: int = 0, job_id: str | None = None) -> BurnResult:
        """Burn ``copies`` discs of ``image_path``, verify them, print ``label`` on each.

        Thread safe: concurrent calls share the robot when the driver allows it
        (:attr:`concurrent_burns`), else they take turns. Holds the robot's cross-process
        lock while working (shared by this process' concurrent burns; another process
        gets :class:`~robot_drivers.errors.RobotBusy`). Raises a typed
        :class:`~robot_drivers.errors.RobotError`; discs finished before the error
        are in its ``discs`` attribute.
        """
        image = Path(image_path)
        if copies < 1:
            raise JobRejected(f"copies must be >= 1, not {copies}")
        if not image.is_file():
            raise JobRejected(f"image {image} does not exist")
        caps = self.capabilities()
        if media not in caps.media_types:
            raise JobRejected(f"{self.kind} cannot load {media.value}")
        request = BurnRequest(image_path=image, copies=copies, label=label, verify=verify,
                              media=media, volume_name=volume_name, speed=speed,
                              job_id=job_id or uuid.uuid4().hex[:16].upper())
        with self._session:
            if self.concurrent_burns:
                return self._burn(request)
            with self._one_at_a_time:
                return self._burn(request)

    @abc.abstractmethod
    def _burn(self, request: BurnRequest) -> BurnResult:
        """Do the work of :meth:`burn` (the lock is held; called concurrently only when
        :attr:`concurrent_burns` is true)."""

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
