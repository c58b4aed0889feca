"""Reading and writing the files of a vendor's hot folder (the production side).

Vendor software watches a job folder: we drop a job file (written to a temporary name and
renamed, so the watcher never sees half a file), the software renames it through its life
cycle and writes status files, which we read without locking and close at once (PTBurn 3
SDK manual Rev 3.24 section 5.1.1: "The status file should NOT be opened in a locked
state"; TD Bridge Technical Reference Guide, STF file: "must be closed as soon as the
application finished to read the file").
"""
from __future__ import annotations

import os
import time
from pathlib import Path


def write_atomic(path: Path, text: str, encoding: str = "ascii") -> Path:
    """Write ``text`` to ``path`` (CRLF line ends: the readers run on Windows) via a
    temporary file and a rename; characters the encoding lacks become ``?``."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding=encoding, errors="replace", newline="\r\n") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def read_text(path: Path) -> str | None:
    """The file's text, or None if it is missing or being replaced (shared read, no lock)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        return None


def parse_sections(text: str) -> dict[str, dict[str, str]]:
    """An INI-like status file: ``[Section]`` then ``Key=Value`` lines (last value wins).

    Both vendors' status files have this shape (PTBurn ``SystemStatus.txt`` and
    ``<Robot>.txt``, TD Bridge ``TDBStatus.txt``)."""
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


def suffixes(folder: Path, stem: str) -> set[str]:
    """The upper-case suffixes of the files named ``stem.*`` in ``folder``, from one listing (a
    vendor renames a job file atomically, so one listing sees it under exactly one name)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return set()
    prefix = f"{stem}."
    return {"." + n[len(prefix):].upper() for n in names if n.startswith(prefix)}


def as_int(value: str | None) -> int | None:
    """An integer status value, or None when absent or not a number."""
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


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
