"""One instance arriving over the network in fragments (the lean C-STORE path).

The File Meta Information is written as soon as the command names the instance and each data
fragment goes to disk as it arrives. As soon as the elements before Pixel Data are in, they are
parsed and the index is asked about the UID, while the pixel data is still on the wire.
:meth:`Incoming.finish` then checks that the rest of the data set is complete and applies
exactly the rules of :meth:`Archive.store_encoded`. A refused or abandoned instance leaves
nothing behind.

Memory does not grow with the instance: fragments are kept (for the SHA-256 taken while the
file is flushed, and the header parse) only up to :attr:`Incoming.KEEP_BYTES`; beyond, the file
on disk is the only copy, the hash is taken as the bytes arrive and the structure is walked on
the file. Free space is watched while receiving, and an instance over the configured largest
size is refused as soon as it is; either way its partial file goes at once and the rest of its
bytes are read and dropped until the answer (0xA700) can be given (PS3.7 9.3.1: the response
follows the request).
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from publisher.archive import durable
from publisher.archive.file_meta import file_meta_bytes
from publisher.archive.metadata import InstanceMeta, valid_uid
from publisher.archive.parse import INFLATED_LIMIT, check_rest, header_prefix, read_header_file
from publisher.archive.walk import Encoding, FileSource, Fragments, MalformedDataset
from publisher.archive.statuses import Provenance, Status, Stored, StoreRefused

if TYPE_CHECKING:
    from publisher.archive.ingest import Archive, Placement

log = logging.getLogger(__name__)


class Incoming:
    """See the module docstring."""

    #: Look for the end of the header only in this many first bytes; beyond (a huge structured
    #: report, say), it is read once the data set is complete.
    EARLY_PARSE_LIMIT = 1 << 20
    #: Fragments kept in memory up to this many bytes (16 associations: 64 MiB at most).
    KEEP_BYTES = 4 << 20
    #: Free space is looked at each time this many more bytes have arrived.
    WATCH_BYTES = 4 << 20

    def __init__(self, archive: Archive, sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str, provenance: Provenance) -> None:
        self.archive = archive
        self.sop_class_uid = sop_class_uid
        self.sop_instance_uid = sop_instance_uid
        self.transfer_syntax = transfer_syntax
        self.provenance = provenance
        self.encoding = Encoding.of(transfer_syntax)
        self.data: Fragments | None = Fragments()  # None once the file holds the only copy
        self.size = 0
        self.digest: hashlib._Hash | None = None  # the file's SHA-256 so far, once spilled
        self.watched = 0
        self.header_end: int | None = None
        self.meta: InstanceMeta | None = None
        self.placement: Placement | None = None
        self.refusal: StoreRefused | None = None
        self.temp: durable.TempFile | None = None
        self.head = b""
        if not valid_uid(sop_instance_uid):  # PS3.7 C.4.2.1.4 "Invalid SOP Instance" (0x0117)
            self._refuse(Status.INVALID_SOP_INSTANCE, f"Affected SOP Instance UID {sop_instance_uid!r} is not a valid UID")
            return
        self.head = file_meta_bytes(sop_class_uid, sop_instance_uid, transfer_syntax, provenance.calling_ae)
        try:
            self.temp = durable.TempFile(archive.root)
            self.temp.write(self.head)
        except OSError as exc:
            log.error("cannot open a file for %s: %s", sop_instance_uid, exc)
            self._refuse(Status.OUT_OF_RESOURCES, "cannot create a file in the archive")

    def _refuse(self, status: Status, reason: str) -> None:
        """Refuse now: the partial file goes, later fragments are dropped, finish() says why."""
        if self.refusal is None:
            self.refusal = StoreRefused(status, reason)
        self.discard()
        self.data = None

    def write(self, fragment: bytes | memoryview) -> None:
        """Take the next piece of the data set (kept until :meth:`finish` while small; not copied)."""
        self.size += len(fragment)
        if self.refusal is not None and self.temp is None:
            return  # refused: read and dropped
        limit = self.archive.max_instance_bytes
        if limit and self.size > limit:
            self._refuse(Status.OUT_OF_RESOURCES, f"instance larger than the largest accepted ({limit} bytes)")
            return
        if self.encoding.deflated and self.size > INFLATED_LIMIT:
            self._refuse(Status.OUT_OF_RESOURCES, f"deflated data set larger than {INFLATED_LIMIT // 2**20} MiB")
            return
        if self.temp is not None:
            self.temp.write(fragment)
            if self.temp.error is not None:
                self._refuse(Status.OUT_OF_RESOURCES, f"cannot write to the archive: {self.temp.error.strerror}")
                return
        if self.size - self.watched >= self.WATCH_BYTES:
            self.watched = self.size
            if self.archive.min_free_bytes and self.archive.free_bytes() < self.archive.min_free_bytes:
                refusal = self.archive.disk_refusal()
                self._refuse(refusal.status, refusal.reason)
                return
        if self.data is None:
            if self.digest is not None:
                self.digest.update(fragment)
            return
        self.data.append(fragment)
        if self.header_end is None and not self.encoding.deflated and self.data.size <= self.EARLY_PARSE_LIMIT:
            self._read_header()
        if self.data is not None and self.data.size > self.KEEP_BYTES:
            self._spill()

    def _spill(self) -> None:
        """From now on the file is the only copy: hash what was kept, then each new fragment."""
        assert self.data is not None
        self.digest = hashlib.sha256(self.head)
        for part in self.data.parts:
            self.digest.update(part)
        self.data = None

    def _read_header(self) -> None:
        assert self.data is not None
        prefix = self.data.parts[0] if len(self.data.parts) == 1 else self.data.joined()
        try:
            found = header_prefix(prefix, self.encoding)
        except MalformedDataset as exc:
            self.header_end = -1  # nothing more to look for
            self._refuse(Status.CANNOT_UNDERSTAND, str(exc))
            return
        if found is None:
            return
        self.header_end, header = found
        try:
            self.meta = self.archive.checked(header, self.sop_class_uid, self.sop_instance_uid)
            self.placement = self.archive.placement(self.meta)
        except StoreRefused as exc:
            self._refuse(exc.status, exc.reason)
            return
        except SQLAlchemyError as exc:  # looked up again in finish()
            log.info("early index look-up for %s failed: %s", self.sop_instance_uid, exc.__class__.__name__)
            return
        if self.placement.existing is not None and self.archive.duplicate_policy == "reject":
            try:
                self.archive.against_filed(self.meta, self.placement.existing)
            except StoreRefused as exc:
                self._refuse(exc.status, exc.reason)  # no need to keep what will be refused

    def finish(self) -> Stored:
        """File the complete data set (its bytes as received) or raise :class:`StoreRefused`."""
        try:
            if self.refusal is not None:
                raise self.refusal
            if self.temp is None:
                raise StoreRefused(Status.OUT_OF_RESOURCES, "cannot create a file in the archive")
            if self.data is None:
                return self._finish_from_file(self.temp)
            if self.meta is None or self.header_end is None:
                meta = self.archive.parse(self.data.joined(), self.transfer_syntax, self.sop_class_uid, self.sop_instance_uid)
                self.placement = None
            else:
                meta = self.meta
                try:
                    check_rest(self.data, self.header_end, self.encoding)
                except MalformedDataset as exc:
                    raise StoreRefused(Status.CANNOT_UNDERSTAND, str(exc)) from None
        except StoreRefused:
            self.discard()
            raise
        chunks = (self.head, *self.data.parts)  # what the file holds, for its SHA-256
        return self.archive.place_and_index(meta, self.transfer_syntax, self.provenance, chunks=chunks, temp=self.temp,
                                            placement=self.placement)

    def _finish_from_file(self, temp: durable.TempFile) -> Stored:
        """The complete data set lives only in ``temp``: walk and (if need be) parse it there."""
        assert self.digest is not None
        fd = os.open(temp.path, os.O_RDONLY)
        try:
            source = FileSource(fd, len(self.head), self.size)
            try:
                if self.encoding.deflated:  # at most INFLATED_LIMIT bytes, inflated at most as many
                    self.meta = self.archive.parse(source.read(0, self.size), self.transfer_syntax, self.sop_class_uid,
                                                   self.sop_instance_uid)
                    self.placement = None
                else:
                    check_rest(source, max(self.header_end or 0, 0), self.encoding)
                if self.meta is None:
                    header = read_header_file(str(temp.path), len(self.head), self.size, self.encoding)
                    self.meta = self.archive.checked(header, self.sop_class_uid, self.sop_instance_uid)
                    self.placement = None
            except MalformedDataset as exc:
                raise StoreRefused(Status.CANNOT_UNDERSTAND, str(exc)) from None
        except StoreRefused:
            self.discard()
            raise
        finally:
            os.close(fd)
        return self.archive.place_and_index(self.meta, self.transfer_syntax, self.provenance, temp=temp,
                                            sha256=self.digest.hexdigest(), placement=self.placement)

    def discard(self) -> None:
        if self.temp is not None:
            self.temp.discard()
            self.temp = None
