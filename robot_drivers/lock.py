"""A cross-process lock per robot (``fcntl.flock`` on a lock file).

Two publisher processes (or a CLI and the service) must never drive the same
robot at once; the lock is held for the duration of a burn. Burns of one process
that share a robot (several jobs on its drives) share the lock through
:class:`SharedRobotLock`: the first takes it, the last gives it back.
"""
from __future__ import annotations

import fcntl
import os
import re
import tempfile
import threading
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


class SharedRobotLock:
    """A :class:`RobotLock` shared by the threads of one process.

    Entering takes the file lock if no other thread of this process holds it through this
    object (raising :class:`RobotBusy` if another process has it); leaving gives it back when
    the last thread leaves. Other processes stay locked out the whole time.
    """

    def __init__(self, lock: RobotLock) -> None:
        self.lock = lock
        self._mutex = threading.Lock()
        self._users = 0

    @property
    def users(self) -> int:
        with self._mutex:
            return self._users

    def __enter__(self) -> "SharedRobotLock":
        with self._mutex:
            if self._users == 0:
                self.lock.acquire()
            self._users += 1
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        with self._mutex:
            self._users -= 1
            if self._users == 0:
                self.lock.release()
