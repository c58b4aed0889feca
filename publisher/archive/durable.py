"""Durable file placement: write to a temporary name, link or rename it into place, fsync.

POSIX rename and link are atomic within one file system, so a reader (or a restart) sees either
no file or the whole file; the directory fsync makes the new name itself survive a power cut.

A new instance (no file under its name) is linked first and then flushed: its ``fdatasync`` and
its folder's ``fsync`` run at once (:mod:`publisher.archive.group_commit`), one device flush
instead of two in a row. Its row is committed only after both returned, so a name not yet
durable is named by no row: the index never points at it, the next copy of that UID replaces
it, ``publisher check`` reports it. A file that replaces one a row names is flushed before the
rename (:meth:`WrittenFile.sync`), so the row's old file stays whole until the new one is.

Every sync is counted in :data:`COUNTS` (tests and ``bench/ingest.py`` read it).
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

INCOMING = ".incoming"


class OutOfSpace(OSError):
    """No room left for a new file (C-STORE status 0xA700)."""


class SyncCounts:
    """How many syncs this process made: file ``fdatasync``, folder ``fsync`` and index
    commits (``commit``: transactions that wrote instance rows; ``rows``: the rows they wrote)."""

    NAMES = ("file", "folder", "commit", "rows")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.NAMES, 0)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


#: The process's counts (one archive per process in the service; tests take differences).
COUNTS = SyncCounts()


class WrittenFile:
    """A complete new file under ``.incoming``: flushed, or (``fd`` open) still to flush with
    :meth:`sync`, which the caller does once it has its name (see the module docstring)."""

    def __init__(self, temp_path: Path, size: int, fd: int | None = None) -> None:
        self.temp_path = temp_path
        self.size = size
        self.fd = fd

    def sync(self) -> None:
        """``fdatasync`` the data (once) and close; a full disk raises :class:`OutOfSpace`."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        try:
            # Data and the size that locates it; the name is made durable by its folder's fsync.
            os.fdatasync(fd)
            COUNTS.add("file")
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise OutOfSpace(exc.errno, f"no space left to store the instance: {exc.strerror}") from None
            raise
        finally:
            os.close(fd)

    def close(self) -> None:
        """Close without flushing (the file is not kept; idempotent)."""
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


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
        COUNTS.add("folder")
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

    def finish(self, *, sync: bool = True) -> WrittenFile:
        """The complete file, its data flushed (``fdatasync``), or with ``sync=False`` still
        open for the caller to flush once it is named (:meth:`WrittenFile.sync`). Its SHA-256
        is the caller's (see :func:`sha256_of`)."""
        try:
            if self.error is not None:
                raise self.error
        except OSError as exc:
            self.discard()
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise OutOfSpace(exc.errno, f"no space left to store the instance: {exc.strerror}") from None
            raise
        assert self._fd is not None
        written = WrittenFile(self.path, self.size, self._fd)
        self._fd = None
        if sync:
            try:
                written.sync()
            except BaseException:
                self.discard()
                raise
        return written

    def discard(self) -> None:
        """Close and remove the partial file (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.unlink(missing_ok=True)


def write_temp(root: Path, chunks: Sequence[bytes | memoryview], *, sync: bool = True) -> WrittenFile:
    """Write ``chunks`` to a new file under ``root/.incoming``, data fdatasync'd (or, with
    ``sync=False``, left for :meth:`WrittenFile.sync`).

    On any error (ENOSPC included) the partial file is removed before the error propagates."""
    temp = TempFile(root)
    try:
        for chunk in chunks:
            temp.write(chunk)
    except BaseException:
        temp.discard()
        raise
    return temp.finish(sync=sync)


#: Series folders known to exist (a stat per instance saved); forgotten when a rename says
#: otherwise (e.g. retention removed the folder).
_KNOWN_DIRS: set[str] = set()


def place(written: WrittenFile, final: Path, root: Path) -> None:
    """Rename ``written`` to ``final`` (replacing any file there) and fsync its directory."""
    _into(os.replace, written, final, root)
    fsync_dir(final.parent)


def link_new(written: WrittenFile, final: Path, root: Path) -> bool:
    """Give ``written`` the name ``final`` unless a file already has it (False: nothing
    changed); neither the data nor the name is flushed yet (the caller does both, at once).
    A hard link, then the temporary name removed: POSIX ``link`` fails on an existing name
    where ``rename`` would silently replace it."""
    try:
        _into(os.link, written, final, root)
    except FileExistsError:
        return False
    os.unlink(written.temp_path)
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
