"""A cross-process lock per robot (``fcntl.flock`` on a lock file).

Two publisher processes (or a CLI and the service) must never drive the same
robot at once; the lock is held for the duration of a burn.
"""
from __future__ import annotations

import fcntl
import os
import re
import tempfile
import time
from pathlib import Path
from types import TracebackType

from robot_drivers.errors import RobotBusy


def default_lock_dir() -> Path:
    """``$ROBOT_LOCK_DIR`` or ``<tmp>/robot-locks``."""
    return Path(os.environ.get("ROBOT_LOCK_DIR") or Path(tempfile.gettempdir()) / "robot-locks")


class RobotLock:
    """An exclusive, re-entrant-free lock named after one robot."""

    def __init__(self, name: str, lock_dir: Path | None = None, timeout: float = 0.0) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "robot"
        self.path = (lock_dir or default_lock_dir()) / f"{safe}.lock"
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds; raise :class:`RobotBusy`."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise RobotBusy(f"robot lock {self.path} is held by another process") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (closing the descriptor drops the flock)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> "RobotLock":
        self.acquire()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
