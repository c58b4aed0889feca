"""One writer at a time per SOP Instance UID, across threads and processes.

Filing an instance is "decide from the index, place the file, commit the row". Two copies of
one SOP Instance UID arriving at once (two associations, or the service and ``publisher
import``) must not interleave those steps, or the archive ends with two files and one row, or a
row describing the other copy's file. The decision and what follows are therefore taken under
a lock named after the UID: an exclusive ``flock`` on a lock file under ``<archive>/.locks``,
which excludes other threads and other processes on the same archive alike.

UIDs are spread over a fixed number of stripes (one lock file each), so the lock files never
need cleaning up; two different UIDs rarely share a stripe and then merely wait for each
other for the few milliseconds a rename and a commit take.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCKS = ".locks"


class UidLocks:
    """Striped locks by SOP Instance UID under ``root/.locks``.

    Each hold opens its stripe's lock file and takes ``flock`` on that new open file
    description, which excludes other threads of this process as well as other processes;
    closing it releases the lock. No descriptor stays open between instances (so the archive
    file system can be unmounted whenever nothing is being filed)."""

    STRIPES = 64

    def __init__(self, root: Path) -> None:
        self.folder = root / LOCKS

    def _open(self, stripe: int) -> int:
        path = self.folder / f"{stripe:02d}"
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        except FileNotFoundError:
            self.folder.mkdir(parents=True, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o640)

    @contextmanager
    def hold(self, sop_instance_uid: str) -> Iterator[None]:
        """Hold the lock of ``sop_instance_uid`` (blocking) for the ``with`` block."""
        fd = self._open(zlib.crc32(sop_instance_uid.encode("ascii", "replace")) % self.STRIPES)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
