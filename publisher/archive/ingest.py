"""Filing one instance durably: the rules behind every C-STORE and ``publisher import``.

A success is returned only after the file was written under a temporary name, fsync'd, renamed
into its place, its directory fsync'd and its index row committed (DESIGN section 7). Every
refusal carries the DIMSE status to answer (PS3.4 B.2.3, PS3.7 C.4.2.1.4) and leaves nothing
behind: no partial file, no orphan row.
"""

from __future__ import annotations

import logging
import shutil
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from io import BytesIO
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from publisher import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from publisher.archive import durable, index, layout
from publisher.archive.metadata import InstanceMeta, MissingAttribute, extract
from publisher.archive.parse import (
    Encoding,
    Fragments,
    MalformedDataset,
    check_rest,
    header_prefix,
    lenient_reading,
    read_header,
)
from publisher.config import DuplicatePolicy
from publisher.db.session import Database

log = logging.getLogger(__name__)


class Status(IntEnum):
    """C-STORE statuses we answer (PS3.4 Table B.2-1, PS3.7 Annex C)."""

    SUCCESS = 0x0000
    DUPLICATE_SOP_INSTANCE = 0x0111
    INVALID_SOP_INSTANCE = 0x0117
    OUT_OF_RESOURCES = 0xA700
    DATASET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
    CANNOT_UNDERSTAND = 0xC000
    MISSING_ATTRIBUTE = 0xC001
    DATABASE_ERROR = 0xA701


class Outcome(StrEnum):
    """What became of an instance that was not refused."""

    STORED = "stored"
    REPLACED = "replaced"
    KEPT_EXISTING = "kept-existing"


class StoreRefused(Exception):
    """The instance was not stored; ``status`` is the DIMSE status to answer."""

    def __init__(self, status: Status, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Stored:
    sop_instance_uid: str
    path: Path
    outcome: Outcome
    meta: InstanceMeta


@dataclass(frozen=True)
class Provenance:
    """Who sent an instance (kept in the index for the audit trail)."""

    calling_ae: str = ""
    peer_address: str = ""


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    """One explicit VR little endian element of group 0002 (PS3.5 7.1.2)."""
    if vr == b"OB":
        return struct.pack("<HH2s2xI", tag >> 16, tag & 0xFFFF, vr, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _text(value: str, pad: bytes) -> bytes:
    raw = value.encode("ascii")
    return raw + pad if len(raw) % 2 else raw


def file_meta_bytes(sop_class: str, sop_instance: str, transfer_syntax: str, source_ae: str) -> bytes:
    """Preamble, ``DICM`` and the File Meta Information group (PS3.10 7.1), encoded directly:
    it is written once per received instance, and pydicom's general writer costs ~0.3 ms."""
    body = b"".join(
        (
            _element(0x00020001, b"OB", b"\x00\x01"),
            _element(0x00020002, b"UI", _text(sop_class, b"\0")),
            _element(0x00020003, b"UI", _text(sop_instance, b"\0")),
            _element(0x00020010, b"UI", _text(transfer_syntax, b"\0")),
            _element(0x00020012, b"UI", _text(IMPLEMENTATION_CLASS_UID, b"\0")),
            _element(0x00020013, b"SH", _text(IMPLEMENTATION_VERSION_NAME, b" ")),
            _element(0x00020016, b"AE", _text(source_ae[:16], b" ")) if source_ae else b"",
        )
    )
    return b"\0" * 128 + b"DICM" + _element(0x00020000, b"UL", struct.pack("<I", len(body))) + body


class Archive:
    """Instance files under ``root`` and their rows in ``db``."""

    def __init__(
        self,
        root: Path,
        db: Database,
        *,
        duplicate_policy: DuplicatePolicy = "keep-first",
        min_free_bytes: int = 0,
    ) -> None:
        self.root = root
        self.db = db
        self.duplicate_policy = duplicate_policy
        self.min_free_bytes = min_free_bytes
        self.cache = index.ParentCache()
        self.rows = index.InstanceRows(db.engine)
        #: Hashes each new file while it is flushed and renamed (one hand-off per instance).
        self.hasher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sha256")
        lenient_reading()
        root.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        """Give back what the archive holds of the database (call before disposing of it)."""
        self.rows.close()

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
        meta = self._parse(dataset, transfer_syntax, sop_class_uid, sop_instance_uid)
        head = file_meta_bytes(meta.sop_class_uid, meta.sop_instance_uid, transfer_syntax, provenance.calling_ae)
        return self._file(meta, transfer_syntax, (head, dataset), provenance)

    def begin(self, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, provenance: Provenance) -> "Incoming":
        """Start receiving one instance whose data set will arrive in pieces (see :class:`Incoming`)."""
        return Incoming(self, sop_class_uid, sop_instance_uid, transfer_syntax, provenance)

    def _parse(self, dataset: bytes | memoryview, transfer_syntax: str, sop_class_uid: str | None, sop_instance_uid: str | None) -> InstanceMeta:
        """Index values of an encoded data set, checked against the request (PS3.4 B.2.3)."""
        try:
            header = read_header(dataset, transfer_syntax)
        except MalformedDataset as exc:
            raise StoreRefused(Status.CANNOT_UNDERSTAND, str(exc)) from None
        return self._checked(header, sop_class_uid, sop_instance_uid)

    def _checked(self, header: Dataset, sop_class_uid: str | None, sop_instance_uid: str | None) -> InstanceMeta:
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
                encoded, ts = _dataset_bytes(f)
        except (OSError, ValueError, EOFError) as exc:
            raise StoreRefused(Status.CANNOT_UNDERSTAND, f"{path}: not a DICOM file ({exc})") from None
        return self.store_encoded(encoded, ts, provenance=provenance)

    # -- the durable path ---------------------------------------------------------------------

    def placement(self, meta: InstanceMeta) -> "Placement":
        """Where ``meta``'s instance goes and what the index already holds under its UID."""
        rel = layout.instance_path(
            meta.patient_id, meta.issuer_of_patient_id, meta.study_instance_uid, meta.series_instance_uid, meta.sop_instance_uid
        )
        return Placement(rel, self.rows.find(meta.sop_instance_uid))

    def _file(
        self,
        meta: InstanceMeta,
        transfer_syntax: str,
        chunks: tuple[bytes | memoryview, ...],
        provenance: Provenance,
        temp: durable.TempFile | None = None,
        placement: "Placement | None" = None,
    ) -> Stored:
        """Make ``chunks`` (file meta, data set) durable under the hierarchy and index them.

        ``temp`` already holds those bytes (streamed while they arrived); otherwise they are
        written now. ``placement`` may have been looked up while the data was arriving.
        Whatever happens, ``temp`` is either placed or removed."""
        try:
            return self._file_steps(meta, transfer_syntax, chunks, provenance, temp, placement or self.placement(meta))
        finally:
            if temp is not None:
                temp.discard()  # no-op once placed: the temporary name no longer exists

    def _file_steps(
        self,
        meta: InstanceMeta,
        transfer_syntax: str,
        chunks: tuple[bytes | memoryview, ...],
        provenance: Provenance,
        temp: durable.TempFile | None,
        placement: "Placement",
    ) -> Stored:
        rel, existing = placement.rel, placement.existing
        final = self.root / rel
        if existing is not None:
            if self.duplicate_policy == "keep-first" and (self.root / existing[1]).exists():
                log.info("duplicate %s: keeping the stored copy", meta.sop_instance_uid)
                return Stored(meta.sop_instance_uid, self.root / existing[1], Outcome.KEPT_EXISTING, meta)
            if self.duplicate_policy == "reject":
                raise StoreRefused(Status.DUPLICATE_SOP_INSTANCE, f"SOP Instance {meta.sop_instance_uid} is already stored")
        self._check_space(temp.size if temp is not None else sum(len(c) for c in chunks))
        digest = self.hasher.submit(durable.sha256_of, chunks)
        try:
            written = durable.write_temp(self.root, chunks) if temp is None else temp.finish()
        except durable.OutOfSpace as exc:
            raise StoreRefused(Status.OUT_OF_RESOURCES, str(exc)) from None
        except OSError as exc:
            raise StoreRefused(Status.OUT_OF_RESOURCES, f"cannot write to the archive: {exc}") from None
        # The new file is durable from here on: only now may it take the old one's place.
        try:
            durable.place(written, final, self.root)
        except OSError as exc:
            written.temp_path.unlink(missing_ok=True)
            raise StoreRefused(Status.OUT_OF_RESOURCES, f"cannot place the file: {exc}") from None
        try:
            replaced = self._commit(meta, transfer_syntax, str(rel), written, digest.result(), provenance, existing[0] if existing else None)
        except SQLAlchemyError as exc:
            if existing is None or existing[1] != str(rel):
                final.unlink(missing_ok=True)  # no row points at it: leave nothing behind
            log.error("index commit failed for %s: %s", meta.sop_instance_uid, exc)
            raise StoreRefused(Status.DATABASE_ERROR, f"index update failed: {exc.__class__.__name__}") from None
        if existing is not None and existing[1] != str(rel):
            (self.root / existing[1]).unlink(missing_ok=True)  # replaced under a new hierarchy
        return Stored(meta.sop_instance_uid, final, Outcome.REPLACED if replaced else Outcome.STORED, meta)

    def _commit(
        self, meta: InstanceMeta, ts: str, rel: str, written: durable.WrittenFile, sha256: str, prov: Provenance, known: int | None
    ) -> bool:
        series_fk = index.cached_series(self.cache, meta) if known is None else None
        if series_fk is not None:
            values = index.instance_values(
                meta, series_fk, transfer_syntax_uid=ts, path=rel, size=written.size, sha256=sha256,
                calling_ae=prov.calling_ae, peer_address=prov.peer_address,
            )
            if self.rows.insert(values):
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
                        size=written.size,
                        sha256=sha256,
                        calling_ae=prov.calling_ae,
                        peer_address=prov.peer_address,
                        cache=self.cache,
                        created=created,
                        known=known,
                        look_up=attempt > 1 or series_fk is not None,  # the first try trusts the check made before writing
                    )
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
        if not self.min_free_bytes:
            return
        free = shutil.disk_usage(self.root).free
        if free - size < self.min_free_bytes:
            raise StoreRefused(
                Status.OUT_OF_RESOURCES,
                f"archive disk almost full: {free // 2**20} MiB free, {self.min_free_bytes // 2**20} MiB kept in reserve",
            )


@dataclass(frozen=True)
class Placement:
    """An instance's path under the archive root and the index row (id, path, sha256) that
    already holds its SOP Instance UID, if any."""

    rel: PurePosixPath
    existing: tuple[int, str, str] | None


class Incoming:
    """One instance arriving over the network in fragments (the lean C-STORE path).

    The File Meta Information is written as soon as the command names the instance and each
    data fragment goes to disk (and into the file's SHA-256) as it arrives. As soon as the
    elements before Pixel Data are in, they are parsed and the index is asked about the UID,
    while the pixel data is still on the wire. :meth:`finish` then checks that the rest of the
    data set is complete and applies exactly the rules of :meth:`Archive.store_encoded`. A
    refused or abandoned instance leaves nothing behind.
    """

    #: Look for the end of the header only in this many first bytes; beyond (a huge structured
    #: report, say), the whole data set is parsed once it is complete.
    EARLY_PARSE_LIMIT = 1 << 20

    def __init__(self, archive: Archive, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, provenance: Provenance) -> None:
        self.archive = archive
        self.sop_class_uid = sop_class_uid
        self.sop_instance_uid = sop_instance_uid
        self.transfer_syntax = transfer_syntax
        self.provenance = provenance
        self.encoding = Encoding.of(transfer_syntax)
        self.data = Fragments()
        self.header_end: int | None = None
        self.meta: InstanceMeta | None = None
        self.placement: Placement | None = None
        self.refusal: StoreRefused | None = None
        self.head = file_meta_bytes(sop_class_uid, sop_instance_uid, transfer_syntax, provenance.calling_ae)
        self.temp: durable.TempFile | None
        try:
            self.temp = durable.TempFile(archive.root)
            self.temp.write(self.head)
        except OSError as exc:  # cannot even create the file: finish() reports it
            log.error("cannot open a file for %s: %s", sop_instance_uid, exc)
            self.temp = None

    def write(self, fragment: bytes | memoryview) -> None:
        """Take the next piece of the data set (kept until :meth:`finish`; not copied)."""
        self.data.append(fragment)
        if self.temp is not None:
            self.temp.write(fragment)
        if self.header_end is None and not self.encoding.deflated and self.data.size <= self.EARLY_PARSE_LIMIT:
            self._read_header()

    def _read_header(self) -> None:
        prefix = self.data.parts[0] if len(self.data.parts) == 1 else self.data.joined()
        try:
            found = header_prefix(prefix, self.encoding)
        except MalformedDataset as exc:
            self.header_end = -1  # nothing more to look for: refused in finish()
            self.refusal = StoreRefused(Status.CANNOT_UNDERSTAND, str(exc))
            return
        if found is None:
            return
        self.header_end, header = found
        try:
            self.meta = self.archive._checked(header, self.sop_class_uid, self.sop_instance_uid)
            self.placement = self.archive.placement(self.meta)
        except StoreRefused as exc:
            self.refusal = exc
        except SQLAlchemyError as exc:  # looked up again in finish()
            log.info("early index look-up for %s failed: %s", self.sop_instance_uid, exc.__class__.__name__)

    def finish(self) -> Stored:
        """File the complete data set (its bytes as received) or raise :class:`StoreRefused`."""
        try:
            if self.refusal is not None:
                raise self.refusal
            if self.meta is None or self.header_end is None:
                meta = self.archive._parse(self.data.joined(), self.transfer_syntax, self.sop_class_uid, self.sop_instance_uid)
                self.placement = None
            else:
                meta = self.meta
                try:
                    check_rest(self.data, self.header_end, self.encoding)
                except MalformedDataset as exc:
                    raise StoreRefused(Status.CANNOT_UNDERSTAND, str(exc)) from None
            if self.temp is None:
                raise StoreRefused(Status.OUT_OF_RESOURCES, "cannot create a file in the archive")
        except StoreRefused:
            self.discard()
            raise
        chunks = (self.head, *self.data.parts)  # what the file holds, for its SHA-256
        return self.archive._file(meta, self.transfer_syntax, chunks, self.provenance, self.temp, self.placement)

    def discard(self) -> None:
        if self.temp is not None:
            self.temp.discard()


def _dataset_bytes(f: BinaryIO) -> tuple[bytes, str]:
    """The encoded dataset after the file meta, and its transfer syntax."""
    preamble = f.read(132)
    if len(preamble) == 132 and preamble[128:] == b"DICM":
        data = preamble + f.read()
        end = _meta_end(data)
        meta = read_dataset(BytesIO(data[132:end]), is_implicit_VR=False, is_little_endian=True)
        if "TransferSyntaxUID" not in meta:
            raise ValueError("file meta information has no Transfer Syntax UID")
        return data[end:], str(meta.TransferSyntaxUID)
    # A bare dataset without PS3.10 header: let pydicom detect the encoding, then re-encode it.
    f.seek(0)
    ds = dcmread(f, force=True)
    implicit = ds.original_encoding[0] if ds.original_encoding[0] is not None else True
    buf = DicomBytesIO()
    buf.is_little_endian = True
    buf.is_implicit_VR = bool(implicit)
    write_dataset(buf, ds)
    return buf.getvalue(), "1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.1"


def _meta_end(data: bytes) -> int:
    """Offset of the first byte after group 0002 (explicit VR little endian, PS3.10 7.1)."""
    pos = 132
    while pos + 8 <= len(data):
        group = int.from_bytes(data[pos : pos + 2], "little")
        if group != 0x0002:
            return pos
        vr = data[pos + 4 : pos + 6]
        if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT", b"UC", b"UR"):
            length = int.from_bytes(data[pos + 8 : pos + 12], "little")
            pos += 12 + length
        else:
            length = int.from_bytes(data[pos + 6 : pos + 8], "little")
            pos += 8 + length
    return pos
