"""Loopback ports and polling: a free port, and waiting for a condition instead of sleeping a
fixed time."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, predicate: Callable[[], bool], timeout: float = 60, poll: float = 0.01) -> None:
    """Return once ``predicate()`` is true; ``timeout`` is against a hang, not a speed requirement."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


def poll(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Whether ``predicate()`` became true within ``timeout`` seconds (for a wait that may end
    either way, e.g. connections a server may already be closing again)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
