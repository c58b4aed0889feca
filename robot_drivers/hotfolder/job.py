"""What the hot-folder drivers share: following one job from submission to its end.

A vendor driver (PTBurn, TD Bridge, Network Publisher) says how to submit a job file, how to
read the job's state from the vendor's files (:class:`Observed`), how to ask the vendor to
cancel, and what proves the vendor software is alive. :class:`HotFolderRobot` does the rest
the same way for all of them:

- every attempt gets a job id of its own (:meth:`HotFolderRobot.attempt_id`), so files and
  status sections a vendor keeps from an earlier attempt (PTBurn keeps ``.DON``/``.ERR``
  until ``Status_Time``, SDK manual Rev 3.24 2.1.7; TD Bridge refuses a used ``JOB_ID`` with
  ``JDF0100``) are never read as this attempt's result;
- a pause (a cover open, ink low...) is reported through ``notify`` as "waiting for the
  operator" and the job goes on when the cause is cleared; only a pause longer than
  ``operator_timeout`` (0: as long as the job may take) stops the job;
- a job the robot ends with fewer good discs than asked is a :class:`~errors.Shortfall`;
- a cancelled job is :class:`~errors.JobCancelled`, whatever file the vendor ends it with.
"""
from __future__ import annotations

import abc
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from robot_drivers import errors
from robot_drivers.hotfolder.files import Heartbeat
from robot_drivers.hotfolder.share import PathMap, Share
from robot_drivers.interface import Notify, Robot
from robot_drivers.model import (Bin, BurnRequest, BurnResult, Capabilities, DiscResult,
                                 Blank)


class State(Enum):
    PENDING = "pending"  # submitted, not yet taken or not yet started
    RUNNING = "running"
    PAUSED = "paused"  # waits for a person
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class Observed:
    """One look at a job through the vendor's files."""

    state: State
    good: int = 0
    bad: int = 0
    rejects: tuple[str, ...] = ()  #: why rejected discs failed, as the vendor says
    error: errors.RobotError | None = None  #: FAILED: what went wrong
    message: str = ""  #: PAUSED: what the robot waits for
    pause_error: type[errors.RobotError] = errors.RobotPaused  #: raised if the pause outlasts the wait
    code: str | None = None  #: the vendor code behind ``message``
    cancelled: bool = False  #: the vendor reports the job cancelled or aborted


_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def label_template(path: str, suffix: str, why: str) -> str:
    """A vendor label design (``""``: none), refused unless it has the vendor's ``suffix``."""
    if path and not path.lower().endswith(suffix):
        raise ValueError(f"label_template {path!r}: {why}")
    return path


class HotFolderRobot(Robot):
    """A robot driven through its vendor's job folder (see the module docstring)."""

    #: the vendor's name for messages
    title = "hot folder"
    #: longest job id the vendor takes, and what is not allowed in one
    id_length = 32
    id_forbidden = re.compile(r"[^A-Za-z0-9_-]")

    def __init__(self, name: str | None = None, *, job_folder: Path | str, robot_job_folder: str = "",
                 path_map: Iterable[Sequence[str | Path]] = (), stage: bool = True,
                 media_types: Iterable[Blank | str] = (Blank.CD_R, Blank.DVD_R),
                 drives: int = 2, poll: float = 1.0, offline_after: float = 30.0,
                 job_timeout: float = 4 * 3600.0, operator_timeout: float = 0.0,
                 cancel_timeout: float = 120.0, lock_dir: Path | str | None = None,
                 lock_timeout: float = 0.0) -> None:
        super().__init__(name, lock_dir, lock_timeout)
        self.job_folder = Path(job_folder)
        self.share = Share(self.job_folder, PathMap(self.job_folder, robot_job_folder, path_map), stage=stage)
        self.media_types = tuple(Blank.parse(m) for m in media_types)
        for media in self.media_types:
            self.disc_type(media)  # a media type the vendor cannot name is a configuration error
        self.drives = drives
        self.poll = poll
        self.offline_after = offline_after
        self.job_timeout = job_timeout
        self.operator_timeout = operator_timeout
        self.cancel_timeout = cancel_timeout

    # -- what a vendor driver provides -----------------------------------------------------------
    @abc.abstractmethod
    def alive_marker(self) -> str | None:
        """A value the vendor software changes while it runs (a tick, a file's time stamp);
        None when its status file is missing."""

    @abc.abstractmethod
    def submit(self, req: BurnRequest, attempt: str) -> None:
        """Put the job file for ``attempt`` into the job folder."""

    @abc.abstractmethod
    def observe(self, req: BurnRequest, attempt: str) -> Observed:
        """The job's state as the vendor's files say now."""

    @abc.abstractmethod
    def send_cancel(self, req: BurnRequest, attempt: str) -> None:
        """Ask the vendor software to cancel ``attempt``."""

    def disc_type(self, media: Blank) -> str | None:
        """The vendor's name for ``media`` (None: the vendor has no key, the robot burns the
        blanks it is loaded with); raise ``ValueError`` for media the vendor cannot burn."""
        return None

    def prints(self) -> bool:
        """Whether labels are printed (a vendor may need a template that is not configured)."""
        return True

    # -- common ----------------------------------------------------------------------------------
    def device(self) -> str:
        return str(self.job_folder.resolve())

    def capabilities(self) -> Capabilities:
        return Capabilities(kind=self.kind, drives=self.drives, media_types=self.media_types,
                            has_printer=self.prints(), sequenced_by_us=False)

    def media_refusal(self, media: Blank) -> str:
        try:
            self.disc_type(media)
        except ValueError as exc:
            return f"{self.title}: {exc}"
        return (f"{self.title} robot {self.name} is set up for "
                f"{', '.join(m.value for m in self.media_types)}, not {media.value} "
                f"(media_types lists what its bins are loaded with)")

    def attempt_id(self, req: BurnRequest) -> str:
        """A job id no earlier attempt used: the caller's id and a random suffix."""
        token = "".join(secrets.choice(_BASE36) for _ in range(6))
        base = self.id_forbidden.sub("_", req.job_id or "JOB")[: self.id_length - len(token) - 1]
        return f"{base}-{token}"

    def check(self) -> None:
        """The share is writable and the vendor software updates its status."""
        self.share.probe(f"{self.title} ({self.name})")
        self.wait_alive()

    def wait_alive(self) -> None:
        """Return once the vendor's liveness marker moves; raise RobotOffline after
        ``offline_after`` seconds of stillness."""
        beat = Heartbeat()
        first = self.alive_marker()
        if first is None:
            raise errors.RobotOffline(self.offline_message(None))
        beat.see(first)
        while True:
            marker = self.alive_marker()
            if marker is not None and marker != first:
                return
            if beat.see(marker) > self.offline_after:
                raise errors.RobotOffline(self.offline_message(self.offline_after))
            time.sleep(self.poll)

    def offline_message(self, still: float | None) -> str:
        where = f"{self.job_folder} (the robot PC's {self.share.map.robot_root})"
        if still is None:
            return f"{self.title}: no status file in {where}: is the vendor software running on that share?"
        return f"{self.title}: the status in {where} has not changed for {still:g} s: is the vendor software running?"

    def _burn(self, req: BurnRequest, notify: Notify) -> BurnResult:
        if not 1 <= req.copies <= self.max_copies():
            raise errors.JobRejected(f"{self.title} takes 1 to {self.max_copies()} copies, not {req.copies}")
        self.wait_alive()
        attempt = self.attempt_id(req)
        try:
            self.submit(req, attempt)
        except BaseException:
            self.share.remove(attempt)
            raise
        return self._follow(req, attempt, notify)

    def max_copies(self) -> int:
        return 10_000

    def _follow(self, req: BurnRequest, attempt: str, notify: Notify) -> BurnResult:
        beat = Heartbeat()
        beat.see(self.alive_marker())
        deadline = time.monotonic() + self.job_timeout
        paused_since: float | None = None
        stopping: errors.RobotError | None = None
        asked_at = 0.0
        while True:
            seen = self.observe(req, attempt)
            if seen.state in (State.DONE, State.FAILED):
                try:
                    return self._end(req, attempt, seen, stopping)
                finally:  # the vendor is done with the job's files
                    self.share.remove(attempt)
            now = time.monotonic()
            if stopping is None and self.cancel_requested(req):
                stopping = errors.JobCancelled(f"{self.title} job {attempt} cancelled")
                asked_at = self._ask_cancel(req, attempt, notify, "cancelling")
            if seen.state is State.PAUSED:
                if paused_since is None:
                    paused_since = now
                    notify(f"waiting for the operator: {seen.message}")
                elif stopping is None and self.operator_timeout and now - paused_since > self.operator_timeout:
                    stopping = seen.pause_error(
                        f"{self.title} job {attempt}: {seen.message}; not cleared within "
                        f"{self.operator_timeout:g} s, the job was cancelled", code=seen.code)
                    asked_at = self._ask_cancel(req, attempt, notify, "operator did not come")
            elif paused_since is not None:
                paused_since = None
                notify("resumed")
            still = beat.see(self.alive_marker())
            if still > self.offline_after:
                raise errors.RobotOffline(self.offline_message(still), discs=self.discs(req, seen))
            if stopping is not None and now - asked_at > self.cancel_timeout:
                stopping.discs = list(self.discs(req, seen))
                raise stopping
            if now > deadline:
                self.send_cancel(req, attempt)
                raise errors.RobotTimeout(f"{self.title} job {attempt} not done in {self.job_timeout:g} s "
                                          f"(cancel requested)", discs=self.discs(req, seen))
            time.sleep(self.poll)

    def _ask_cancel(self, req: BurnRequest, attempt: str, notify: Notify, why: str) -> float:
        notify(f"{why}: asking {self.title} to cancel job {attempt}")
        self.send_cancel(req, attempt)
        return time.monotonic()

    def _end(self, req: BurnRequest, attempt: str, seen: Observed,
             stopping: errors.RobotError | None) -> BurnResult:
        discs = self.discs(req, seen)
        complete = seen.state is State.DONE and not seen.cancelled and seen.good >= req.copies
        if stopping is not None and not complete:
            stopping.discs = list(discs)
            raise stopping
        if seen.cancelled:
            raise errors.JobCancelled(f"{self.title} job {attempt} was cancelled at the robot "
                                      f"({seen.good} of {req.copies} copies made)", discs=discs)
        if seen.state is State.FAILED:
            error = seen.error or errors.RobotError(f"{self.title} job {attempt} failed")
            error.discs = list(discs)
            raise error
        if seen.good < req.copies:
            why = "; ".join(seen.rejects) or "the robot gave no reason"
            raise errors.Shortfall(
                f"{self.title} job {attempt} ended with {seen.good} good disc(s) of {req.copies}: "
                f"{req.copies - seen.good} missing, {seen.bad} rejected ({why})", discs=discs)
        return BurnResult(job_id=attempt, discs=discs)

    def discs(self, req: BurnRequest, seen: Observed) -> tuple[DiscResult, ...]:
        """The good discs (numbered first) and the rejected ones, as far as the vendor counts."""
        label = str(req.label.file) if req.label and req.label.file and self.prints() else None
        good = [DiscResult(copy_index=k, ok=True, bin=Bin.OUTPUT, label_file=label)
                for k in range(1, seen.good + 1)]
        bad = [DiscResult(copy_index=seen.good + k, ok=False, bin=Bin.REJECT,
                          error=seen.rejects[k - 1] if k <= len(seen.rejects) else "rejected")
               for k in range(1, seen.bad + 1)]
        return tuple(good + bad)
