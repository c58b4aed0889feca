"""Durable file placement: write to a temporary name, fsync, rename, fsync the directory.

POSIX rename is atomic within one file system, so a reader (or a restart) sees either no file
or the whole file; the directory fsync makes the new name itself survive a power cut.
"""

from __future__ import annotations

import errno
import hashlib
import os
import uuid
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

INCOMING = ".incoming"


class OutOfSpace(OSError):
    """No room left for a new file (C-STORE status 0xA700)."""


@dataclass(frozen=True)
class WrittenFile:
    temp_path: Path
    size: int
    sha256: str


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path, root: Path) -> None:
    """Create ``path`` (below ``root``) and fsync each parent whose entries changed."""
    missing: list[Path] = []
    p = path
    while not p.exists() and p != root and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        fsync_dir(d.parent)


def _sha256(chunks: Sequence[bytes | memoryview]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)  # hashlib releases the GIL on large buffers
    return digest.hexdigest()


def write_temp(root: Path, chunks: Sequence[bytes | memoryview], hasher: Executor | None = None) -> WrittenFile:
    """Write ``chunks`` to a new file under ``root/.incoming``, data fdatasync'd, with its SHA-256.

    With ``hasher`` the hash is computed on another thread while the data is written and
    flushed (the two take about the same time for an image). On any error (ENOSPC included)
    the partial file is removed before the error propagates."""
    incoming = root / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    temp = incoming / f"{uuid.uuid4().hex}.part"
    pending: Future[str] | None = hasher.submit(_sha256, chunks) if hasher is not None else None
    size = 0
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                n = os.write(fd, view)
                view = view[n:]
                size += n
        # Data and the size that locates it; the name is made durable by fsync_dir after rename.
        os.fdatasync(fd)
    except OSError as exc:
        os.close(fd)
        temp.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise OutOfSpace(exc.errno, f"no space left to store the instance: {exc.strerror}") from None
        raise
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return WrittenFile(temp, size, pending.result() if pending is not None else _sha256(chunks))


def place(written: WrittenFile, final: Path, root: Path) -> None:
    """Rename ``written`` to ``final`` (replacing any file there) and fsync its directory."""
    make_dirs(final.parent, root)
    os.replace(written.temp_path, final)
    fsync_dir(final.parent)


def clear_incoming(root: Path) -> int:
    """Remove temporary files left by a killed process; returns how many."""
    incoming = root / INCOMING
    if not incoming.is_dir():
        return 0
    n = 0
    for p in incoming.iterdir():
        p.unlink(missing_ok=True)
        n += 1
    return n


def sha256_file(path: Path, bufsize: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(bufsize):
            digest.update(chunk)
    return digest.hexdigest()
