"""A cross-process lock per robot (``fcntl.flock`` on a lock file named after the device).

Two publisher processes (or a CLI and the service) must never drive the same robot at
once; the lock is held for the duration of a burn. Burns of one process that share a
robot (several jobs on its drives) share the lock through :class:`SharedRobotLock`: the
first takes it, the last gives it back.

Where the lock lives decides who it excludes:

- a real device (a serial port, a drive, a vendor's job share) is one thing on the
  machine, so its lock is machine-wide: ``/run/lock`` (the FHS lock directory, mode 1777
  on Debian) or a directory the caller configures, and the file is named after the device
  (``serial-_dev_ttyS0``), so unrelated robots never share one;
- a simulator is private to whoever built it: it gets a lock directory from its owner (the
  service passes its data directory) or, without one, a lock of this process only.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from robot_drivers.errors import RobotBusy

#: where machine-wide device locks go, first usable wins (FHS 3.0 section 5.9, /run/lock)
MACHINE_LOCK_DIRS = (Path("/run/lock"), Path("/var/lock"))
PREFIX = "disc-publisher-robot-"


def machine_lock_dir() -> Path:
    """The machine-wide lock directory: ``/run/lock`` when writable, else the temp dir."""
    for candidate in MACHINE_LOCK_DIRS:
        if candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return Path(tempfile.gettempdir())


def lock_file_name(name: str) -> str:
    """A file name for the lock of ``name`` (``kind-device``): safe characters, bounded length."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "robot"
    if len(safe) > 80:
        safe = safe[:60] + "-" + hashlib.sha1(name.encode()).hexdigest()[:12]
    return f"{safe}.lock"


class RobotLock:
    """An exclusive lock named after one robot; ``lock_dir=None`` locks this process only."""

    def __init__(self, name: str, lock_dir: Path | None, timeout: float = 0.0) -> None:
        self.name = name
        self.path = lock_dir / lock_file_name(name) if lock_dir is not None else None
        self.timeout = timeout
        self._fd: int | None = None
        self._local = threading.Lock()
        self._held = False

    def acquire(self) -> None:
        """Take the lock, waiting up to ``timeout`` seconds; raise :class:`RobotBusy`."""
        waits = self.timeout > 0
        if not self._local.acquire(blocking=waits, timeout=self.timeout if waits else -1):
            raise RobotBusy(f"robot {self.name} is in use in this process")
        try:
            if self.path is not None:
                self._fd = self._flock(self.path)
        except BaseException:
            self._local.release()
            raise
        self._held = True

    def _flock(self, path: Path) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise RobotBusy(f"robot lock {path} is held by another process") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd

    def release(self) -> None:
        """Give the lock back (closing the descriptor drops the flock)."""
        if not self._held:
            return
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._held = False
        self._local.release()

    @property
    def held(self) -> bool:
        return self._held

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
