"""Durable file placement: write to a temporary name, fsync, rename, fsync the directory.

POSIX rename is atomic within one file system, so a reader (or a restart) sees either no file
or the whole file; the directory fsync makes the new name itself survive a power cut.
"""

from __future__ import annotations

import errno
import hashlib
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

INCOMING = ".incoming"


class OutOfSpace(OSError):
    """No room left for a new file (C-STORE status 0xA700)."""


@dataclass(frozen=True)
class WrittenFile:
    temp_path: Path
    size: int


def sha256_of(chunks: Sequence[bytes | memoryview]) -> str:
    """SHA-256 of the bytes of ``chunks`` in order (``hashlib`` releases the GIL on large
    buffers, so this runs beside the flushes on another thread)."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


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


class TempFile:
    """A new file under ``root/.incoming`` written chunk by chunk, e.g. while a C-STORE's data
    set is still arriving, so that most of its data is on disk by the time it is complete.

    Each write asks the kernel to start writing back what is dirty (``POSIX_FADV_DONTNEED``
    starts asynchronous writeback on Linux), so the final ``fdatasync`` waits for little. (Writing,
    hashing or starting writeback on other threads fragment by fragment was measured slower:
    the hand-offs cost more than the overlap gains.) A write error (ENOSPC...) is kept and
    raised by :meth:`finish`; the partial file is removed.
    """

    #: Start writeback each time this many bytes have been written since the last start.
    KICK_BYTES = 256 * 1024

    def __init__(self, root: Path) -> None:
        incoming = root / INCOMING
        self.path = incoming / f"{uuid.uuid4().hex}.part"
        self.size = 0
        self.error: OSError | None = None
        self._unkicked = 0
        try:
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        except FileNotFoundError:  # first file, or the folder was removed under us
            incoming.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)

    def write(self, chunk: bytes | memoryview) -> None:
        if self.error is not None or self._fd is None:
            return
        view = memoryview(chunk)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
                self.size += n
                self._unkicked += n
            if self._unkicked >= self.KICK_BYTES and hasattr(os, "posix_fadvise"):
                # Only the bytes written since the last kick: the whole file would be scanned again.
                os.posix_fadvise(self._fd, self.size - self._unkicked, self._unkicked, os.POSIX_FADV_DONTNEED)
                self._unkicked = 0
        except OSError as exc:
            self.error = exc

    def finish(self) -> WrittenFile:
        """Flush the data (fdatasync) and return the file (its SHA-256 is the caller's: see
        :func:`sha256_of`)."""
        try:
            if self.error is not None:
                raise self.error
            assert self._fd is not None
            # Data and the size that locates it; the name is made durable by fsync_dir after rename.
            os.fdatasync(self._fd)
        except OSError as exc:
            self.discard()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise OutOfSpace(exc.errno, f"no space left to store the instance: {exc.strerror}") from None
            raise
        except BaseException:
            self.discard()
            raise
        os.close(self._fd)
        self._fd = None
        return WrittenFile(self.path, self.size)

    def discard(self) -> None:
        """Close and remove the partial file (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.unlink(missing_ok=True)


def write_temp(root: Path, chunks: Sequence[bytes | memoryview]) -> WrittenFile:
    """Write ``chunks`` to a new file under ``root/.incoming``, data fdatasync'd, with its SHA-256.

    On any error (ENOSPC included) the partial file is removed before the error propagates."""
    temp = TempFile(root)
    try:
        for chunk in chunks:
            temp.write(chunk)
    except BaseException:
        temp.discard()
        raise
    return temp.finish()


#: Series folders known to exist (a stat per instance saved); forgotten when a rename says
#: otherwise (e.g. retention removed the folder).
_KNOWN_DIRS: set[str] = set()


def place(written: WrittenFile, final: Path, root: Path) -> None:
    """Rename ``written`` to ``final`` (replacing any file there) and fsync its directory."""
    _into(os.replace, written, final, root)
    fsync_dir(final.parent)


def place_new(written: WrittenFile, final: Path, root: Path) -> bool:
    """Give ``written`` the name ``final`` unless a file already has it (False: nothing
    changed), and fsync its directory. A hard link, then the temporary name removed: POSIX
    ``link`` fails on an existing name where ``rename`` would silently replace it."""
    try:
        _into(os.link, written, final, root)
    except FileExistsError:
        return False
    os.unlink(written.temp_path)
    fsync_dir(final.parent)
    return True


def _into(move: Callable[[Path, Path], None], written: WrittenFile, final: Path, root: Path) -> None:
    """``move(temporary name, final)``, creating the folders on the way (once per folder)."""
    parent = final.parent
    key = str(parent)
    if key not in _KNOWN_DIRS:
        make_dirs(parent, root)
        if len(_KNOWN_DIRS) > 10000:
            _KNOWN_DIRS.clear()
        _KNOWN_DIRS.add(key)
    try:
        move(written.temp_path, final)
    except FileNotFoundError:
        if not written.temp_path.exists():
            raise
        _KNOWN_DIRS.discard(key)
        make_dirs(parent, root)
        move(written.temp_path, final)


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
