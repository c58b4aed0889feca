"""Sharing one robot between several burns: a drive pool, and the schedule's lower bound.

:class:`DrivePool` hands the drives of a robot to the discs that wait for one, oldest
request first, so several burn requests (jobs) can run on one robot at once: each disc takes
a free drive instead of a whole job taking the robot.

:func:`lower_bound` is the yardstick of docs/performance.md ("discs per hour on a 2-drive robot:
>= 95 % of the schedule's lower bound"). For a stream of jobs ``i = 1..N``, each with

- ``m_i``: its mastering time (selection -> disc images), and
- its discs ``d`` (copies x volumes), each needing of the robot (:class:`DiscTimes`)
  ``drive_d`` seconds of one drive (load + lead-in/out + size / write rate
  + size / read rate when verified + unload), ``arm_d`` seconds of the single picker arm
  (load + unload moves) and ``printer_d`` seconds of the single label printer (the move of
  the disc into it + printing: the printer cannot print while a disc is put into it),

and a robot of ``D`` drives, no schedule can finish the stream (all discs in the output bin,
counted from the moment every job is queued) sooner than::

    bound = max( sum_d drive_d / D,                     # the drives are never idle
                 max_i (m_i + max_{d of i} chain_d),    # chain_d = drive_d + printer_d
                 sum_d arm_d,                           # one arm, moves one at a time
                 sum_d printer_d )                      # one printer, one label at a time

Each term holds on its own: the drive work cannot be done faster than by D drives that never
idle; a job's disc cannot come out before its image exists and the disc went through a drive
and the printer; the arm and the printer serve one disc at a time. The bound ignores that the
arm and printer wait at the start for the first disc (so reaching it exactly is impossible:
95 % is the target). Discs per hour of the bound = discs / bound * 3600; the ratio of a run is
``bound / achieved makespan`` (= achieved discs per hour / the bound's).

:attr:`LowerBound.with_fill` is a tighter bound, still valid, that adds the start-up fill to
each serial resource: no drive or arm works before the first image is mastered
(``min_i m_i``), and the printer gets nothing before the first disc is burned
(``min_i (m_i + min_{d of i} ready_d)``, ``ready_d`` = load + lead-in/out + write + verify).
On a short stream the fill is a visible part of the makespan (one disc's burn, about 30 s,
against the printer's 26 s per disc), which caps the ratio to the simple bound at
``P / (P + fill)`` for a printer-bound stream of printer work ``P``; the fill-aware ratio shows
how much of the gap is the scheduler's.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


class DrivePool:
    """``drives`` drives handed out first come, first served; thread safe.

    :meth:`acquire` waits for a free drive (the lowest-numbered one) unless the caller's
    ``cancelled`` turns true (checked whenever :meth:`release` or :meth:`wake` is called).
    """

    def __init__(self, drives: int) -> None:
        if drives < 1:
            raise ValueError(f"a robot needs at least one drive, not {drives}")
        self._cond = threading.Condition()
        self._free = list(range(drives))
        self._waiting: deque[object] = deque()

    def acquire(self, cancelled: Callable[[], bool] | None = None) -> int | None:
        """The index of the drive now reserved for the caller, or None if it was cancelled."""
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
            try:
                while True:
                    if cancelled is not None and cancelled():
                        return None
                    if self._waiting[0] is ticket and self._free:
                        break
                    self._cond.wait()
                self._waiting.popleft()
                return self._free.pop(0)
            finally:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()

    def release(self, drive: int) -> None:
        """Give ``drive`` back (its disc left it)."""
        with self._cond:
            self._free.append(drive)
            self._free.sort()
            self._cond.notify_all()

    def wake(self) -> None:
        """Make waiting callers look at their ``cancelled`` again."""
        with self._cond:
            self._cond.notify_all()

    @property
    def free(self) -> int:
        with self._cond:
            return len(self._free)


@dataclass(frozen=True)
class DiscTimes:
    """Seconds one disc needs of each resource of the robot."""

    drive: float  # from the start of its load to the end of its unload
    arm: float  # load + unload moves of the picker arm
    printer: float = 0.0  # the printer busy with it: moved in, label printed
    ready: float = 0.0  # from the start of its load until it can leave the drive (burned, verified)

    @property
    def chain(self) -> float:
        """The disc's own path: through a drive, then the printer."""
        return self.drive + self.printer


@dataclass(frozen=True)
class StreamJob:
    """A job of the stream: its mastering time and the robot work of each of its discs."""

    mastering: float
    discs: tuple[DiscTimes, ...]


@dataclass(frozen=True)
class LowerBound:
    """The terms of :func:`lower_bound`, in seconds."""

    drives: int
    discs: int
    drive_term: float
    chain_term: float
    arm_term: float
    printer_term: float
    first_image: float = 0.0  # min_i m_i
    first_disc: float = 0.0  # min_i (m_i + min_d ready_d)

    @property
    def makespan(self) -> float:
        return max(self.drive_term, self.chain_term, self.arm_term, self.printer_term)

    @property
    def with_fill(self) -> float:
        """The tighter bound with the start-up fill of each resource (module doc)."""
        return max(self.first_image + self.drive_term, self.chain_term, self.first_image + self.arm_term,
                   self.first_disc + self.printer_term if self.printer_term else 0.0)

    @property
    def limited_by(self) -> str:
        terms = {"drives": self.drive_term, "one job's chain": self.chain_term, "arm": self.arm_term,
                 "printer": self.printer_term}
        return max(terms, key=lambda k: terms[k])

    @property
    def discs_per_hour(self) -> float:
        return self.discs * 3600.0 / self.makespan if self.makespan > 0 else float("inf")

    def ratio(self, achieved_makespan: float) -> float:
        """Achieved discs per hour / the bound's (<= 1 for any real schedule)."""
        return self.makespan / achieved_makespan if achieved_makespan > 0 else float("inf")


def lower_bound(jobs: Sequence[StreamJob] | Iterable[StreamJob], drives: int,
                single_arm: bool = True, single_printer: bool = True) -> LowerBound:
    """The lower bound of the makespan of ``jobs`` on a robot of ``drives`` drives (module doc).

    ``single_arm`` / ``single_printer``: whether the robot moves discs with one arm and prints
    on one printer (every robot we drive does); without, those terms are 0.
    """
    jobs = list(jobs)
    discs = [d for j in jobs for d in j.discs]
    return LowerBound(
        drives=drives, discs=len(discs),
        drive_term=sum(d.drive for d in discs) / drives,
        chain_term=max((j.mastering + max(d.chain for d in j.discs) for j in jobs if j.discs), default=0.0),
        arm_term=sum(d.arm for d in discs) if single_arm else 0.0,
        printer_term=sum(d.printer for d in discs) if single_printer else 0.0,
        first_image=min((j.mastering for j in jobs if j.discs), default=0.0),
        first_disc=min((j.mastering + min(d.ready for d in j.discs) for j in jobs if j.discs), default=0.0),
    )
