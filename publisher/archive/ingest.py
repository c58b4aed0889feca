"""Filing one instance durably: the rules behind every C-STORE and ``publisher import``.

A success is returned only after the file was written under a temporary name and given its
place, its data fdatasync'd and its directory fsync'd (at once, shared with the instances
arriving meanwhile: :mod:`publisher.archive.group_commit`) and its index row committed (in one
transaction with theirs). Every refusal carries the
DIMSE status to answer (PS3.4 B.2.3, PS3.7 C.4.2.1.4) and leaves nothing behind: no partial
file, no orphan row.

Per SOP Instance UID there is one file and one row describing it, whatever arrives at once:
the step from "durable under a temporary name" to "placed and committed" is taken under the
UID's lock (:mod:`publisher.archive.uid_lock`), where the duplicate policy is applied against
what the index holds at that moment (see ``docs/conformance.md``, duplicate policies).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydicom.dataset import Dataset
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from publisher.archive import durable, index, layout
from publisher.archive.group_commit import Flusher, Group
from publisher.archive.file_meta import dataset_bytes, file_meta_bytes
from publisher.archive.incoming import Incoming
from publisher.archive.metadata import InstanceMeta, MissingAttribute, extract
from publisher.archive.parse import MalformedDataset, TooLarge, read_header
from publisher.archive.statuses import Outcome, Provenance, Status, Stored, StoreRefused
from publisher.archive.uid_lock import UidLocks
from publisher.config import DuplicatePolicy
from publisher.db.session import Database

__all__ = ["Archive", "Incoming", "Outcome", "Placement", "Provenance", "Status", "Stored", "StoreRefused", "file_meta_bytes"]

log = logging.getLogger(__name__)


class Archive:
    """Instance files under ``root`` and their rows in ``db``."""

    def __init__(
        self,
        root: Path,
        db: Database,
        *,
        duplicate_policy: DuplicatePolicy = "keep-first",
        min_free_bytes: int = 0,
        max_instance_bytes: int = 0,
    ) -> None:
        self.root = root
        self.db = db
        self.duplicate_policy = duplicate_policy
        self.min_free_bytes = min_free_bytes
        #: The largest data set accepted (0: no limit but the disk reserve).
        self.max_instance_bytes = max_instance_bytes
        self.locks = UidLocks(root)
        self.cache = index.ParentCache()
        self.rows = index.InstanceRows(db.engine)
        #: Rows of the instances that became durable meanwhile, committed in one transaction.
        self.row_group: Group[dict[str, object], bool] = Group(self.rows.insert_many)
        #: A new file's fdatasync beside its folder's (shared) fsync.
        self.flusher = Flusher()
        #: Hashes each new file while it is flushed and renamed (one hand-off per instance).
        self.hasher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sha256")
        root.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        """Give back what the archive holds of the database (call before disposing of it)."""
        self.rows.close()
        self.flusher.close()

    # -- entry points -------------------------------------------------------------------------

    def store_encoded(
        self,
        dataset: bytes | memoryview,
        transfer_syntax: str,
        *,
        sop_class_uid: str | None = None,
        sop_instance_uid: str | None = None,
        provenance: Provenance = Provenance(),
    ) -> Stored:
        """File an encoded dataset (as received in a C-STORE, no file meta) byte for byte.

        ``sop_class_uid``/``sop_instance_uid`` are the C-STORE command's Affected SOP Class and
        Instance UIDs; the dataset must agree with them (PS3.4 B.2.3)."""
        if self.max_instance_bytes and len(dataset) > self.max_instance_bytes:
            raise StoreRefused(Status.OUT_OF_RESOURCES, f"instance larger than the largest accepted ({self.max_instance_bytes} bytes)")
        meta = self.parse(dataset, transfer_syntax, sop_class_uid, sop_instance_uid)
        head = file_meta_bytes(meta.sop_class_uid, meta.sop_instance_uid, transfer_syntax, provenance.calling_ae)
        return self.place_and_index(meta, transfer_syntax, provenance, chunks=(head, dataset))

    def begin(self, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, provenance: Provenance) -> Incoming:
        """Start receiving one instance whose data set will arrive in pieces (see :class:`Incoming`)."""
        return Incoming(self, sop_class_uid, sop_instance_uid, transfer_syntax, provenance)

    def parse(self, dataset: bytes | memoryview, transfer_syntax: str, sop_class_uid: str | None, sop_instance_uid: str | None) -> InstanceMeta:
        """Index values of an encoded data set, checked against the request (PS3.4 B.2.3)."""
        try:
            header = read_header(dataset, transfer_syntax)
        except TooLarge as exc:
            raise StoreRefused(Status.OUT_OF_RESOURCES, str(exc)) from None
        except MalformedDataset as exc:
            raise StoreRefused(Status.CANNOT_UNDERSTAND, str(exc)) from None
        return self.checked(header, sop_class_uid, sop_instance_uid)

    def checked(self, header: Dataset, sop_class_uid: str | None, sop_instance_uid: str | None) -> InstanceMeta:
        try:
            meta = extract(header)
        except MissingAttribute as exc:
            raise StoreRefused(Status.MISSING_ATTRIBUTE, str(exc)) from None
        if sop_class_uid and meta.sop_class_uid != sop_class_uid:
            raise StoreRefused(
                Status.DATASET_DOES_NOT_MATCH_SOP_CLASS,
                f"dataset SOP Class UID {meta.sop_class_uid} differs from the request's {sop_class_uid}",
            )
        if sop_instance_uid and meta.sop_instance_uid != sop_instance_uid:
            raise StoreRefused(
                Status.INVALID_SOP_INSTANCE,
                f"dataset SOP Instance UID {meta.sop_instance_uid} differs from the request's {sop_instance_uid}",
            )
        return meta

    def store_file(self, path: Path, provenance: Provenance = Provenance(calling_ae="IMPORT")) -> Stored:
        """File a DICOM file from disk (``publisher import``), keeping its dataset bytes as they are."""
        try:
            with open(path, "rb") as f:
                encoded, ts = dataset_bytes(f)
        except (OSError, ValueError, EOFError) as exc:
            raise StoreRefused(Status.CANNOT_UNDERSTAND, f"{path}: not a DICOM file ({exc})") from None
        return self.store_encoded(encoded, ts, provenance=provenance)

    # -- the durable path ---------------------------------------------------------------------

    def placement(self, meta: InstanceMeta) -> Placement:
        """Where ``meta``'s instance goes and what the index already holds under its UID."""
        rel = layout.instance_path(
            meta.patient_id, meta.issuer_of_patient_id, meta.study_instance_uid, meta.series_instance_uid, meta.sop_instance_uid
        )
        return Placement(rel, self.rows.find(meta.sop_instance_uid))

    def place_and_index(
        self,
        meta: InstanceMeta,
        transfer_syntax: str,
        provenance: Provenance,
        *,
        chunks: tuple[bytes | memoryview, ...] = (),
        temp: durable.TempFile | None = None,
        sha256: str | None = None,
        placement: Placement | None = None,
    ) -> Stored:
        """Make an instance durable under the hierarchy and index it.

        ``chunks`` are its bytes (file meta, data set): written now, or already streamed into
        ``temp`` while they arrived; ``sha256`` is their hash when it was computed meanwhile
        (then ``chunks`` may be empty). ``placement`` may have been looked up while the data
        was arriving. Whatever happens, ``temp`` is either placed or removed."""
        try:
            return self._file_steps(meta, transfer_syntax, provenance, chunks, temp, sha256, placement or self.placement(meta))
        finally:
            if temp is not None:
                temp.discard()  # no-op once placed: the temporary name no longer exists

    def _file_steps(
        self,
        meta: InstanceMeta,
        ts: str,
        provenance: Provenance,
        chunks: tuple[bytes | memoryview, ...],
        temp: durable.TempFile | None,
        sha256: str | None,
        placement: Placement,
    ) -> Stored:
        if placement.existing is not None:
            answer = self.against_filed(meta, placement.existing)  # an early answer: no work for a known duplicate
            if answer is not None:
                return answer
        self._check_space(temp.size if temp is not None else sum(len(c) for c in chunks))
        digest: Callable[[], str] = (lambda: sha256) if sha256 is not None else self.hasher.submit(durable.sha256_of, chunks).result
        try:
            written = durable.write_temp(self.root, chunks, sync=False) if temp is None else temp.finish(sync=False)
        except OSError as exc:
            raise self._write_refusal(exc) from None
        # The new file is complete (not yet flushed: see durable). Whether it takes a name, and
        # which row describes it, is decided under the UID's lock against what the index holds now.
        try:
            with self.locks.hold(meta.sop_instance_uid):
                return self._settle(meta, ts, provenance, placement, written, digest)
        finally:
            written.close()
            written.temp_path.unlink(missing_ok=True)  # not placed: refused, or the other copy kept

    @staticmethod
    def _write_refusal(exc: OSError) -> StoreRefused:
        if isinstance(exc, durable.OutOfSpace):
            return StoreRefused(Status.OUT_OF_RESOURCES, str(exc))
        return StoreRefused(Status.OUT_OF_RESOURCES, f"cannot write to the archive: {exc}")

    def against_filed(self, meta: InstanceMeta, existing: tuple[int, str, str]) -> Stored | None:
        """The duplicate policy against a copy already filed under this UID: the answer (keep
        the filed copy), a :class:`StoreRefused` (reject), or None: this copy replaces it."""
        if self.duplicate_policy == "keep-first" and (self.root / existing[1]).exists():
            log.info("duplicate %s: keeping the stored copy", meta.sop_instance_uid)
            return Stored(meta.sop_instance_uid, self.root / existing[1], Outcome.KEPT_EXISTING, meta)
        if self.duplicate_policy == "reject":
            raise StoreRefused(Status.DUPLICATE_SOP_INSTANCE, f"SOP Instance {meta.sop_instance_uid} is already stored")
        return None

    def _settle(
        self, meta: InstanceMeta, ts: str, prov: Provenance, placement: Placement, written: durable.WrittenFile,
        digest: Callable[[], str],
    ) -> Stored:
        """Under the UID's lock: place the durable file and commit its row, or apply the
        duplicate policy against the copy filed meanwhile (by another association, or another
        process on this archive)."""
        rel = placement.rel
        final = self.root / rel
        placed = False
        existing = placement.existing
        if existing is None:
            if durable.link_new(written, final, self.root):
                placed = True
                try:
                    self.flusher.file_and_folder(written, final.parent)  # before any row names it
                except OSError as exc:
                    final.unlink(missing_ok=True)
                    raise self._write_refusal(exc) from None
                try:
                    self._commit(meta, ts, str(rel), written.size, digest(), prov, None)
                    return Stored(meta.sop_instance_uid, final, Outcome.STORED, meta)
                except index.AlreadyFiled as filed:
                    existing = filed.row  # ours sits at ``final``, named by no row yet
                except SQLAlchemyError as exc:
                    final.unlink(missing_ok=True)
                    raise self._database_refusal(meta, exc) from None
            else:
                existing = self._find(meta)
                if existing is None:  # a file no row names (an interrupted filing left it): ours replaces it
                    return self._replace(meta, ts, prov, rel, written, digest, None, placed)
        else:
            existing = self._find(meta)  # what the early look-up saw may have changed since
            if existing is None:
                return self._settle(meta, ts, prov, Placement(rel, None), written, digest)
        try:
            answer = self.against_filed(meta, existing)
        except StoreRefused:
            if placed:
                final.unlink(missing_ok=True)
            raise
        if answer is not None:
            if placed:
                final.unlink(missing_ok=True)
            return answer
        return self._replace(meta, ts, prov, rel, written, digest, existing, placed)

    def _replace(
        self, meta: InstanceMeta, ts: str, prov: Provenance, rel: PurePosixPath, written: durable.WrittenFile,
        digest: Callable[[], str], existing: tuple[int, str, str] | None, placed: bool,
    ) -> Stored:
        """Put this (durable) copy in the place of ``existing`` and of any file at ``rel``: the
        old file stays until the new row is committed, so a failure leaves the old pair whole."""
        final = self.root / rel
        keep = None
        if not placed:
            try:
                written.sync()  # whole on disk before it takes the name a row may hold
            except OSError as exc:
                raise self._write_refusal(exc) from None
            if final.exists():
                keep = self.root / durable.INCOMING / f"{uuid.uuid4().hex}.old"
                try:
                    os.link(final, keep)  # the old copy, back in place should the commit fail
                except OSError:
                    keep = None
            try:
                durable.place(written, final, self.root)
            except OSError as exc:
                if keep is not None:
                    keep.unlink(missing_ok=True)
                raise StoreRefused(Status.OUT_OF_RESOURCES, f"cannot place the file: {exc}") from None
        try:
            replaced = self._commit(meta, ts, str(rel), written.size, digest(), prov, existing[0] if existing else None)
        except (SQLAlchemyError, index.AlreadyFiled) as exc:
            if keep is not None:
                os.replace(keep, final)
            elif existing is None or existing[1] != str(rel):
                final.unlink(missing_ok=True)  # no row points at it: leave nothing behind
            raise self._database_refusal(meta, exc) from None
        if keep is not None:
            keep.unlink(missing_ok=True)
        if existing is not None and existing[1] != str(rel):
            (self.root / existing[1]).unlink(missing_ok=True)  # replaced under a new hierarchy
        return Stored(meta.sop_instance_uid, final, Outcome.REPLACED if replaced else Outcome.STORED, meta)

    def _find(self, meta: InstanceMeta) -> tuple[int, str, str] | None:
        try:
            return self.rows.find(meta.sop_instance_uid)
        except SQLAlchemyError as exc:
            raise self._database_refusal(meta, exc) from None

    @staticmethod
    def _database_refusal(meta: InstanceMeta, exc: Exception) -> StoreRefused:
        log.error("index commit failed for %s: %s", meta.sop_instance_uid, exc)
        return StoreRefused(Status.DATABASE_ERROR, f"index update failed: {exc.__class__.__name__}")

    def _commit(
        self, meta: InstanceMeta, ts: str, rel: str, size: int, sha256: str, prov: Provenance, known: int | None
    ) -> bool:
        """Insert (``known`` None) or update the row; True when it replaced one. A row of this
        UID other than ``known`` raises :class:`index.AlreadyFiled`."""
        series_fk = index.cached_series(self.cache, meta) if known is None else None
        if series_fk is not None:
            values = index.instance_values(
                meta, series_fk, transfer_syntax_uid=ts, path=rel, size=size, sha256=sha256,
                calling_ae=prov.calling_ae, peer_address=prov.peer_address,
            )
            if self.row_group.submit(values):
                return False
            self.cache.clear()  # refused (UID filed meanwhile, series gone): the general path says why
        for attempt in (1, 2, 3):
            created: dict[tuple[str, str], int] = {}
            try:
                with self.db.engine.begin() as conn:
                    _, replaced = index.file_instance(
                        conn,
                        meta,
                        transfer_syntax_uid=ts,
                        path=rel,
                        size=size,
                        sha256=sha256,
                        calling_ae=prov.calling_ae,
                        peer_address=prov.peer_address,
                        cache=self.cache,
                        created=created,
                        known=known,
                        look_up=attempt > 1 or series_fk is not None,  # the first try trusts the check made before writing
                    )
                durable.COUNTS.add("commit")
                durable.COUNTS.add("rows")
                self.cache.update(created)
                return replaced
            except (IntegrityError, OperationalError) as exc:
                # A cached parent id vanished (retention, restore), a lost race or a deadlock
                # victim (PostgreSQL/MariaDB): retry with an empty cache.
                self.cache.clear()
                log.info("index commit attempt %d for %s failed: %s", attempt, meta.sop_instance_uid, exc.__class__.__name__)
                if attempt == 3:
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def _check_space(self, size: int) -> None:
        if self.min_free_bytes and self.free_bytes() - size < self.min_free_bytes:
            raise self.disk_refusal()

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def disk_refusal(self) -> StoreRefused:
        return StoreRefused(
            Status.OUT_OF_RESOURCES,
            f"archive disk almost full: {self.free_bytes() // 2**20} MiB free, {self.min_free_bytes // 2**20} MiB kept in reserve",
        )


@dataclass(frozen=True)
class Placement:
    """An instance's path under the archive root and the index row (id, path, sha256) that
    already holds its SOP Instance UID, if any."""

    rel: PurePosixPath
    existing: tuple[int, str, str] | None
