"""Group commit: the syncs of instances arriving at once, shared (docs/architecture.md, section 7).

A C-STORE success still waits until the file, its folder entry and its index row are durable,
but the waits are shared:

- a new file's ``fdatasync`` and its folder's ``fsync`` run at the same time (another thread
  flushes the file), after it was linked under its name: on ext4 both join one journal commit;
- a folder's ``fsync`` serves every instance linked into it before the ``fsync`` began: one
  ``fsync`` per folder for the instances that arrived meanwhile (:class:`FolderSyncs`);
- instance rows are committed in one transaction for the instances that became durable
  meanwhile, on whichever association's thread comes first (:class:`Group`, the classic
  leader/follower group commit); each caller returns once the transaction holding its row has
  committed.

Nothing waits for company: the first caller leads at once, so one association alone pays what it
paid before minus the folder sync's turn; grouping comes from the callers that arrive while a
flush or a commit is under way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Generic, TypeVar

from publisher.archive import durable

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Slot(Generic[Item, Result]):
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item: Item) -> None:
        self.item = item
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None


class Group(Generic[Item, Result]):
    """``submit(item)`` returns once a run of ``work`` over a batch holding ``item`` has ended.

    The first caller runs ``work`` on every item submitted so far; callers arriving meanwhile
    queue, and when the run ends one of them runs the next batch with all that queued. ``work``
    returns one result per item, in order; an exception it raises is raised to every caller of
    that batch."""

    def __init__(self, work: Callable[[list[Item]], list[Result]]) -> None:
        self.work = work
        self._cond = threading.Condition()
        self._queue: list[_Slot[Item, Result]] = []
        self._busy = False

    @property
    def queued(self) -> int:
        """Callers waiting for the next batch."""
        with self._cond:
            return len(self._queue)

    def submit(self, item: Item) -> Result:
        slot: _Slot[Item, Result] = _Slot(item)
        batch: list[_Slot[Item, Result]] = []
        with self._cond:
            self._queue.append(slot)
            while self._busy and not slot.done:
                self._cond.wait()
            if not slot.done:  # lead: this batch is everything queued, ours included
                self._busy = True
                batch, self._queue = self._queue, []
        if batch:
            self._lead(batch)
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set for every slot of a batch that ran

    def _lead(self, batch: list[_Slot[Item, Result]]) -> None:
        error: BaseException | None = None
        results: list[Result] = []
        try:
            results = self.work([s.item for s in batch])
            if len(results) != len(batch):
                raise AssertionError(f"{len(results)} results for a batch of {len(batch)}")
        except BaseException as exc:  # every waiter of this batch learns it
            error = exc
        with self._cond:
            for i, s in enumerate(batch):
                s.done = True
                if error is None:
                    s.result = results[i]
                else:
                    s.error = error
            self._busy = False
            self._cond.notify_all()


class FolderSyncs:
    """One :class:`Group` per folder: an ``fsync`` of the folder serves every caller that
    linked a file into it before that ``fsync`` began."""

    #: Folders remembered at most (a series each); forgetting one merely costs sharing.
    LIMIT = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, Group[None, None]] = {}

    def sync(self, folder: Path) -> None:
        key = str(folder)
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                if len(self._groups) >= self.LIMIT:
                    self._groups.clear()  # callers holding a group keep using it
                group = self._groups[key] = Group(lambda batch: self._fsync(folder, len(batch)))
        group.submit(None)

    @staticmethod
    def _fsync(folder: Path, n: int) -> list[None]:
        durable.fsync_dir(folder)
        return [None] * n


class Flusher:
    """Makes a just-linked file and its name durable: the file's ``fdatasync`` on a helper
    thread while the caller syncs the folder (shared with the others, :class:`FolderSyncs`)."""

    def __init__(self, threads: int = 16) -> None:
        self.folders = FolderSyncs()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fdatasync")

    def file_and_folder(self, written: durable.WrittenFile, folder: Path) -> None:
        """Both durable on return; the file's error (e.g. :class:`durable.OutOfSpace`) first."""
        flushed = self._pool.submit(written.sync)
        try:
            self.folders.sync(folder)
        finally:
            flushed.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
