"""Pieces every simulator shares: the ledger of discs produced and fault injection.

A simulator records, for each disc that leaves a drive, the sha256 of what is on
it, the label printed on it and the bin it fell into, so a test can check the
driver end to end. Faults are injected with :meth:`FaultSwitch.inject`: the
conditions of the robot (empty input bin, cover open, printer out of ink,
offline) stay until :meth:`FaultSwitch.clear`; media faults (drive failure,
verify failure) hit the next disc only.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from robot_drivers.model import Bin, Fault

#: faults that hit one disc and then go away by themselves
ONE_SHOT = frozenset({Fault.DRIVE_FAILURE, Fault.VERIFY_FAILURE})


@dataclass(frozen=True)
class DiscRecord:
    """One disc as the simulated robot saw it."""

    job_id: str
    sha256: str | None
    label: str | None
    bin: Bin
    drive: int | None = None


class DiscLedger:
    """A thread-safe list of :class:`DiscRecord`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[DiscRecord] = []

    def add(self, record: DiscRecord) -> None:
        with self._lock:
            self._records.append(record)

    @property
    def records(self) -> list[DiscRecord]:
        with self._lock:
            return list(self._records)

    def in_bin(self, which: Bin) -> list[DiscRecord]:
        return [r for r in self.records if r.bin is which]


class FaultSwitch:
    """The faults currently injected into a simulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: set[Fault] = set()

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._active.add(fault)

    def clear(self, fault: Fault | None = None) -> None:
        with self._lock:
            if fault is None:
                self._active.clear()
            else:
                self._active.discard(fault)

    def active(self, fault: Fault) -> bool:
        with self._lock:
            return fault in self._active

    def take(self, fault: Fault) -> bool:
        """True if ``fault`` is active; one-shot faults are consumed."""
        with self._lock:
            if fault not in self._active:
                return False
            if fault in ONE_SHOT:
                self._active.discard(fault)
            return True


class Clock:
    """Scaled sleeping: ``time_scale=0.001`` makes a 6 s robot move take 6 ms.

    :meth:`now` is ``time.monotonic()``, the time base of :class:`Activity` records (and of
    anything a test compares them with); :meth:`robot_seconds` turns a span of it back into
    the robot's own (unscaled) seconds.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0 and self.time_scale > 0:
            time.sleep(seconds * self.time_scale)

    @staticmethod
    def now() -> float:
        return time.monotonic()

    def robot_seconds(self, span: float) -> float:
        """A span of :meth:`now` in unscaled robot seconds (0 when time does not pass)."""
        return span / self.time_scale if self.time_scale > 0 else 0.0


@dataclass(frozen=True)
class Activity:
    """One interval of one resource of a simulated robot, in :meth:`Clock.now` time.

    ``resource`` is ``"arm"``, ``"printer"`` or ``"drive<N>"``; ``what`` names the move
    (``load``, ``unload``, ``reject``, ``print`` for the arm and printer; ``disc`` for a
    drive: from the start of the load into it to the end of the unload out of it).
    """

    resource: str
    what: str
    job_id: str
    start: float
    end: float
    drive: int | None = None


class ActivityLog:
    """A thread-safe list of :class:`Activity`: what each resource did, and when."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Activity] = []

    def add(self, item: Activity) -> None:
        with self._lock:
            self._items.append(item)

    @property
    def items(self) -> list[Activity]:
        with self._lock:
            return list(self._items)

    def of(self, resource: str) -> list[Activity]:
        """The intervals of ``resource`` (a prefix: ``"drive"`` gives every drive's)."""
        return sorted((a for a in self.items if a.resource.startswith(resource)), key=lambda a: a.start)


def overlapping(intervals: list[Activity]) -> list[tuple[Activity, Activity]]:
    """Pairs of intervals that share some time (touching ends do not count)."""
    ordered = sorted(intervals, key=lambda a: a.start)
    return [(a, b) for i, a in enumerate(ordered) for b in ordered[i + 1:] if b.start < a.end]
