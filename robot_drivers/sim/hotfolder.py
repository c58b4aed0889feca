"""The engine of the vendor-software simulators (PTBurn, TD Bridge, Network Publisher).

Each simulator is written from its vendor's manual (the modules beside this one cite the
sections), not from our drivers: it reads job files with the syntax the manual gives,
refuses what the manual says the software refuses, with the manual's error, keeps finished
job files as long as the manual says, and writes the documented status keys only. It never
imports driver code.

A simulator also plays the robot's Windows PC: :class:`RobotPC` resolves the paths written in
a job file the way that PC would (a UNC share or a drive letter it has), so a path only our
machine knows (``/tmp/...``) is "not found" there, as it would be on the real PC.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from robot_drivers.model import Bin, Fault
from robot_drivers.sim.ledger import Clock, DiscLedger, DiscRecord, FaultSwitch

#: conditions that pause a robot until a person acts, checked before each disc
CONDITIONS = (Fault.COVER_OPEN, Fault.EMPTY_INPUT_BIN, Fault.PRINTER_FAILURE)


class RobotPC:
    """The paths the robot's PC can open: its roots (``\\\\PC\\share``, ``C:\\Jobs``) -> our folders."""

    def __init__(self, roots: Mapping[str, Path]) -> None:
        self.roots = {self._key(PureWindowsPath(r).parts): Path(p) for r, p in roots.items()}

    @staticmethod
    def _key(parts: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(p.rstrip("\\").lower() for p in parts)  # Windows paths ignore case

    def resolve(self, path: str) -> Path | None:
        """Our file behind the robot-side ``path``, or None when the PC cannot reach it."""
        if not path or path.startswith("/"):
            return None  # a POSIX path means nothing to a Windows PC
        parts = self._key(PureWindowsPath(path).parts)
        for root, local in self.roots.items():
            if parts[:len(root)] == root:
                original = PureWindowsPath(path).parts[len(root):]
                target = local.joinpath(*original)
                return target if target.exists() else None
        return None


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` as Windows software would (write a temporary file, rename it)."""
    tmp = path.with_name(f"~{path.name}.tmp")
    tmp.write_text(text, encoding="cp1252", errors="replace", newline="\r\n")
    os.replace(tmp, path)


def render_sections(sections: Mapping[str, Mapping[str, object]]) -> str:
    """An INI-like status file from its sections."""
    lines: list[str] = []
    for name, keys in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{k}={v}" for k, v in keys.items())
        lines.append("")
    return "\n".join(lines)


def tree_digest(folder: Path) -> str:
    """sha256 over every file of ``folder`` (relative path and content, in path order): what a
    disc mastered from those files holds, whatever file system the robot writes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().upper().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclass
class SimJob:
    """A job as a simulator sees it."""

    job_id: str
    base: Path  #: the job file's path without extension
    copies: int
    content: str | None  #: sha256 of what goes on the disc
    label: str | None = None  #: the label file printed, as the robot sees it
    verify: bool = True
    good: int = 0
    bad: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  #: (copy, why) per rejected disc
    cancelled: bool = False
    info: dict[str, object] = field(default_factory=dict)


class HotFolderSimulator:
    """A vendor-software simulator: a thread that polls the job folder.

    Subclasses implement the vendor's files: :meth:`heartbeat` (the periodic status),
    :meth:`scan` (accept or refuse new job files), :meth:`report` (progress, pauses),
    :meth:`disc_failed` (what a rejected disc does to the job), :meth:`finish` and
    :meth:`is_cancelled`. Everything a vendor writes and refuses is its own.
    """

    supported_faults: tuple[Fault, ...] = tuple(Fault)
    #: seconds between status rewrites (the vendor's period), scaled by time_scale
    status_period = 1.0
    disc_seconds = 240.0

    def __init__(self, folder: Path, *, time_scale: float = 1.0, blanks: int = 100,
                 poll: float = 0.01, robot_root: str = "\\\\ROBOT-PC\\Jobs",
                 shares: Mapping[str, Path] | None = None) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.robot_root = robot_root
        self.pc = RobotPC({robot_root: folder, **(shares or {})})
        self.faults = FaultSwitch()
        self.ledger = DiscLedger()
        self.clock = Clock(time_scale)
        self.time_scale = time_scale
        self.blanks = blanks
        self.poll = poll
        self.tick = 0
        self.ignored: list[str] = []  #: keys the vendor software would ignore, as "file: key"
        self._queue: list[SimJob] = []
        self._lock = threading.RLock()
        self.printed = folder.parent / f"{folder.name}-printed"  #: copies of the labels printed
        self.printed.mkdir(parents=True, exist_ok=True)
        self.heartbeat(None)  # the vendor software is up before anyone submits
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    def keep_label(self, job_id: str, label: Path | None) -> str | None:
        """Copy the label file the robot prints (it may be deleted with the job) and name it."""
        if label is None:
            return None
        kept = self.printed / f"{job_id}{label.suffix}"
        kept.write_bytes(label.read_bytes())
        return str(kept)

    def inject(self, fault: Fault) -> None:
        self.faults.inject(fault)

    def clear(self) -> None:
        self.faults.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    # -- vendor specifics ------------------------------------------------------------------------
    def heartbeat(self, condition: Fault | None) -> None:
        raise NotImplementedError

    def scan(self) -> list[SimJob]:
        raise NotImplementedError

    def report(self, job: SimJob, condition: Fault | None) -> None:
        raise NotImplementedError

    def disc_failed(self, job: SimJob, why: str) -> bool:
        """A disc of ``job`` was rejected; True to go on with the job, False to end it failed."""
        raise NotImplementedError

    def finish(self, job: SimJob, failure: tuple[int, str] | None) -> None:
        raise NotImplementedError

    def is_cancelled(self, job: SimJob) -> bool:
        raise NotImplementedError

    def held(self, job: SimJob) -> bool:
        """Whether the robot holds ``job`` for another reason than an injected fault."""
        return False

    def wants_more(self, job: SimJob) -> bool:
        """Whether ``job`` needs another disc (default: rejected discs are made again)."""
        return job.good < job.copies

    def housekeeping(self) -> None:
        """Periodic work besides jobs (expiring old job files)."""

    # -- engine ----------------------------------------------------------------------------------
    def _run(self) -> None:
        work: Generator[None, None, None] | None = None
        last_status = 0.0
        while not self._stop.is_set():
            condition = next((c for c in CONDITIONS if self.faults.active(c)), None)
            if not self.faults.active(Fault.OFFLINE):
                with self._lock:
                    now = time.monotonic()
                    if now - last_status >= self.status_period * self.time_scale:
                        self.tick += 1
                        self.heartbeat(condition)
                        self.housekeeping()
                        last_status = now
                    self._queue.extend(self.scan())
                    if work is None and self._queue:
                        work = self._work(self._queue.pop(0))
                    if work is not None:
                        try:
                            next(work)
                        except StopIteration:
                            work = None
            self._stop.wait(self.poll)

    def _work(self, job: SimJob) -> Generator[None, None, None]:
        failure: tuple[int, str] | None = None
        copy = 0
        while self.wants_more(job) and failure is None:
            while True:  # a paused robot waits for a person (or a cancel)
                if self.is_cancelled(job):
                    job.cancelled = True
                    self.finish(job, None)
                    return
                condition = next((c for c in CONDITIONS if self.faults.active(c)
                                  and (c is not Fault.PRINTER_FAILURE or job.label)), None)
                if condition is None and self.blanks > 0 and not self.held(job):
                    break
                self.report(job, condition or Fault.EMPTY_INPUT_BIN)
                yield
            copy += 1
            self.blanks -= 1
            self.report(job, None)
            burnt = time.monotonic() + self.disc_seconds * self.time_scale
            while time.monotonic() < burnt:  # the disc burns; the status goes on being written
                yield
            why = None
            if self.faults.take(Fault.DRIVE_FAILURE):
                why, sha = "record", None
            elif job.verify and self.faults.take(Fault.VERIFY_FAILURE):
                why, sha = "verify", "0" * 64
            if why is not None:
                job.bad += 1
                job.errors.append((copy, why))
                self.ledger.add(DiscRecord(job.job_id, sha, None, Bin.REJECT))
                if not self.disc_failed(job, why):
                    failure = (copy, why)
            else:
                job.good += 1
                self.ledger.add(DiscRecord(job.job_id, job.content, job.label, Bin.OUTPUT))
            self.report(job, None)
            yield
        self.finish(job, failure)
