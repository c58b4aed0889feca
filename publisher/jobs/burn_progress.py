"""A job's progress as one bar from queued to done, and a person's cancel reaching the robot.

A job's ``progress_done`` / ``progress_total`` are per mille of the whole job (issue 14: no
100 % after mastering followed by 0 % when burning starts): mastering fills the first
:data:`MASTER_SHARE` of the bar when discs are burned afterwards (all of it for a folder or
USB job), burning the rest, each disc by the stage its robot reports
(:data:`robot_drivers.STAGES`: loading, burning, verifying, printing, done or rejected).

:class:`CancelWatch` polls the job's ``cancel_requested`` flag (set by :func:`request_cancel`,
from the web UI or any other process) while the job burns and asks the robot to stop: copies
not started are not burned, what is in a drive finishes as the robot allows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from publisher.db.models import DiscJob, utcnow
from publisher.db.session import Database
from publisher import audit
from publisher.jobs.records import load_discs
from publisher.jobs.state import InvalidTransition, JobState, check
from publisher.progress import Progress

#: the whole bar, in units of ``progress_total``
SCALE = 1000
#: the share of the bar mastering takes when discs are burned afterwards
MASTER_SHARE = 0.2


def master_progress(progress: Progress, *, burns: bool) -> Progress:
    """``progress`` as mastering reports it, mapped to the first part of the job's bar."""
    share = MASTER_SHARE if burns else 1.0

    def report(done: int, total: int, message: str) -> None:
        fraction = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        units = int(SCALE * share * fraction)
        progress(units, SCALE, message)

    return report


class DiscProgress:
    """Every disc of a burning job (``volumes`` x ``copies``) by its robot's last report; writes
    the job's bar and a message such as "3 of 20 discs good, 2 in the robot"."""

    def __init__(self, progress: Progress, volumes: int, copies: int) -> None:
        self.progress, self.total = progress, max(volumes * copies, 1)
        self._lock = threading.Lock()
        self._fraction: dict[tuple[int, int], float] = {}
        self._stage: dict[tuple[int, int], str] = {}

    def for_volume(self, volume: int) -> Callable[[int, str, float], None]:
        """The robot's ``on_disc`` callback for ``volume``."""

        def on_disc(copy: int, stage: str, fraction: float) -> None:
            with self._lock:
                key = (volume, copy)
                self._fraction[key] = max(self._fraction.get(key, 0.0), fraction)
                self._stage[key] = stage
            self.write()

        return on_disc

    def counts(self) -> tuple[int, int, int]:
        """(good, rejected, in the robot) of the discs reported so far."""
        with self._lock:
            stages = list(self._stage.values())
        good, bad = stages.count("done"), stages.count("rejected")
        return good, bad, len(stages) - good - bad

    def message(self) -> str:
        good, bad, busy = self.counts()
        text = f"{good} of {self.total} disc(s) good"
        text += f", {bad} rejected" if bad else ""
        return text + (f", {busy} in the robot" if busy else "")

    def units(self) -> int:
        with self._lock:
            done = sum(self._fraction.values())
        return int(SCALE * (MASTER_SHARE + (1 - MASTER_SHARE) * min(done / self.total, 1.0)))

    def write(self, message: str = "") -> None:
        """The bar and ``message`` (what the robot waits for, as it says it), else the counts."""
        self.progress(min(self.units(), SCALE - 1), SCALE, message or self.message())


def settled_progress(discs_json: str, copies_wanted: int) -> tuple[int, int, str]:
    """(done, total, message) for a job that ended: the good discs of those asked
    ("34 of 40 disc(s) good"), so a failed job shows what can still be handed out."""
    discs = load_discs(discs_json)
    good = sum(1 for d in discs if d.ok)
    total = max(copies_wanted, 1)
    return int(SCALE * min(good / total, 1.0)), SCALE, f"{good} of {copies_wanted} disc(s) good"


@dataclass(frozen=True)
class CancelOutcome:
    """What a cancel request did: ``state`` the job is in now, ``at_robot`` if it waits for the robot."""

    state: JobState
    at_robot: bool


def request_cancel(db: Database, job_id: int, actor: str) -> CancelOutcome:
    """Cancel job ``job_id``: a queued, mastered or failed job is cancelled at once; a burning
    one is flagged and its burn step stops the robot (:class:`CancelWatch`). Raises
    :class:`~publisher.jobs.state.InvalidTransition` when the job cannot be cancelled, KeyError
    when there is no such job. Audited (``cancel``)."""
    with db.session() as s:
        job = s.get(DiscJob, job_id, with_for_update=True)
        if job is None:
            raise KeyError(f"no disc job {job_id}")
        previous = job.state
        if previous == JobState.BURNING.value:
            if job.cancel_requested:
                return CancelOutcome(JobState.BURNING, True)
            job.cancel_requested, job.updated_at = True, utcnow()
            audit.record(s, actor, "cancel", audit.job_subject(job_id), {"was": previous, "at_robot": True})
            return CancelOutcome(JobState.BURNING, True)
        if previous == JobState.MASTERING.value:
            raise InvalidTransition("a mastering job cannot be cancelled; cancel it once it is mastered")
        check(previous, JobState.CANCELLED)
        job.state, job.updated_at = JobState.CANCELLED.value, utcnow()
        audit.record(s, actor, "cancel", audit.job_subject(job_id), {"was": previous})
        return CancelOutcome(JobState.CANCELLED, False)


def cancel_requested(db: Database, job_id: int) -> bool:
    with db.session() as s:
        job = s.get(DiscJob, job_id)
        return bool(job is not None and job.cancel_requested)


class CancelWatch:
    """While a job burns, every ``period`` seconds: if a person asked to cancel it, call
    ``stop`` (which asks the robot to cancel the burn under way). ``requested`` tells the burn
    step not to start the next volume."""

    def __init__(self, db: Database, job_id: int, stop: Callable[[], object], period: float = 0.3) -> None:
        self.db, self.job_id, self.stop, self.period = db, job_id, stop, period
        self.requested = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cancel-watch-{job_id}", daemon=True)

    def _run(self) -> None:
        while not self._done.wait(self.period):
            try:
                asked = cancel_requested(self.db, self.job_id)
            except Exception:  # the database hiccups: look again at the next period
                continue
            if asked and not self.requested:
                self.requested = True
                self.stop()
            elif asked:  # a burn of the next volume may have started meanwhile
                self.stop()

    def __enter__(self) -> CancelWatch:
        self.requested = cancel_requested(self.db, self.job_id)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
