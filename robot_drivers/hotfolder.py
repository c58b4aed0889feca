"""What the hot-folder drivers (Primera, Epson, Rimage) and their simulators share.

Vendor software watches a job folder: we drop a job file (written to a temporary
name and renamed, so the watcher never sees half a file), the software renames it
through its life cycle and writes status files, which we read without locking.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

from robot_drivers.model import Bin, Fault
from robot_drivers.simulation import Clock, DiscLedger, DiscRecord, FaultSwitch
from robot_drivers.manifest import sha256_of


def write_atomic(path: Path, text: str, encoding: str = "ascii") -> Path:
    """Write ``text`` to ``path`` via a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding=encoding, newline="\r\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def read_text(path: Path) -> str | None:
    """The file's text, or None if it is missing or being replaced (shared read, no lock)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, PermissionError):
        return None


def parse_keys(text: str, sep: str = "=") -> dict[str, list[str]]:
    """``Key=Value`` lines (``#``/``;`` comments skipped); repeated keys keep every value."""
    out: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;[" or sep not in line:
            continue
        key, value = line.split(sep, 1)
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def parse_sections(text: str) -> dict[str, dict[str, str]]:
    """An INI-like status file: ``[Section]`` then ``Key=Value`` lines (last value wins)."""
    out: dict[str, dict[str, str]] = {}
    section = out.setdefault("", {})
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            section = out.setdefault(line[1:-1], {})
        elif "=" in line:
            key, value = line.split("=", 1)
            section[key.strip()] = value.strip()
    return out


def render_sections(sections: dict[str, dict[str, object]]) -> str:
    """The reverse of :func:`parse_sections`."""
    lines: list[str] = []
    for name, keys in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{k}={v}" for k, v in keys.items())
        lines.append("")
    return "\n".join(lines)


class Heartbeat:
    """Tracks a liveness value (a tick count, a time stamp) and how long it has been still."""

    def __init__(self) -> None:
        self.value: str | None = None
        self.since = time.monotonic()

    def see(self, value: str | None) -> float:
        """Record ``value``; return the seconds since it last changed."""
        now = time.monotonic()
        if value is not None and value != self.value:
            self.value, self.since = value, now
        return now - self.since


@dataclass
class SimJob:
    """A job as a simulator sees it."""

    job_id: str
    image: Path
    copies: int
    label: str | None
    verify: bool = True
    good: int = 0
    bad: int = 0
    cancelled: bool = False


#: conditions that pause a robot until a person acts, checked before each disc
CONDITIONS = (Fault.COVER_OPEN, Fault.EMPTY_INPUT_BIN, Fault.PRINTER_FAILURE)


class HotFolderSimulator:
    """A vendor-software simulator: a thread that polls the job folder.

    Subclasses implement the vendor's files: :meth:`heartbeat`, :meth:`scan` (find
    and accept new jobs), :meth:`report` (progress) and :meth:`finish`.
    """

    supported_faults = tuple(Fault)
    #: seconds between status rewrites (the vendor's period), scaled by time_scale
    status_period = 1.0
    disc_seconds = 240.0

    def __init__(self, folder: Path, *, time_scale: float = 1.0, blanks: int = 100,
                 poll: float = 0.01) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.faults = FaultSwitch()
        self.ledger = DiscLedger()
        self.clock = Clock(time_scale)
        self.time_scale = time_scale
        self.blanks = blanks
        self.poll = poll
        self.tick = 0
        self._queue: list[SimJob] = []
        self.heartbeat(None)  # the vendor software is up before anyone submits
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()

    def inject(self, fault: Fault) -> None:
        self.faults.inject(fault)

    def clear(self) -> None:
        self.faults.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    # -- vendor specifics --------------------------------------------------------------------
    def heartbeat(self, condition: Fault | None) -> None:
        raise NotImplementedError

    def scan(self) -> list[SimJob]:
        raise NotImplementedError

    def report(self, job: SimJob, condition: Fault | None) -> None:
        raise NotImplementedError

    def finish(self, job: SimJob, error: Fault | None) -> None:
        raise NotImplementedError

    def is_cancelled(self, job: SimJob) -> bool:
        raise NotImplementedError

    # -- engine ------------------------------------------------------------------------------
    def _run(self) -> None:
        work: Generator[None, None, None] | None = None
        last_status = 0.0
        while not self._stop.is_set():
            condition = next((c for c in CONDITIONS if self.faults.active(c)), None)
            if not self.faults.active(Fault.OFFLINE):
                now = time.monotonic()
                if now - last_status >= self.status_period * self.time_scale:
                    self.tick += 1
                    self.heartbeat(condition)
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
        sha = sha256_of(job.image)
        while job.good < job.copies:
            while True:  # a paused robot waits for a person (or a cancel)
                if self.is_cancelled(job):
                    job.cancelled = True
                    self.finish(job, None)
                    return
                condition = next((c for c in CONDITIONS if self.faults.active(c)
                                  and (c is not Fault.PRINTER_FAILURE or job.label)), None)
                if condition is None and self.blanks > 0:
                    break
                self.report(job, condition or Fault.EMPTY_INPUT_BIN)
                yield
            self.blanks -= 1
            self.report(job, None)
            self.clock.sleep(self.disc_seconds)
            yield
            if self.faults.take(Fault.DRIVE_FAILURE):
                job.bad += 1
                self.ledger.add(DiscRecord(job.job_id, None, None, Bin.REJECT))
                self.finish(job, Fault.DRIVE_FAILURE)
                return
            if job.verify and self.faults.take(Fault.VERIFY_FAILURE):
                job.bad += 1
                self.ledger.add(DiscRecord(job.job_id, "0" * 64, None, Bin.REJECT))
                self.finish(job, Fault.VERIFY_FAILURE)
                return
            job.good += 1
            self.ledger.add(DiscRecord(job.job_id, sha, job.label, Bin.OUTPUT))
            self.report(job, None)
            yield
        self.finish(job, None)
