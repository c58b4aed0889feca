"""Sends what the forward queue holds, one association per destination and batch.

Per instance: read the stored file; change its pixel encoding only where the destination asks
(``native``: decompressed for an old PACS; ``j2k-lossless`` / ``jpeg-lossless``: compressed
losslessly for a slow link, checked equal after decoding, :mod:`publisher.media.transcode`);
apply the destination's attribute changes (:mod:`publisher.routing.transform`); C-STORE it.
Each success is committed before the next instance goes (:mod:`publisher.routing.queue`). A
refused association or a lost link makes the rest of the batch due again after a backoff; a
C-STORE failure status other than "out of resources" (PS3.4 B.2.3, 0xA7xx) fails that instance
with the status in its reason.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import UID, JPEG2000Lossless, JPEGLosslessSV1
from pynetdicom import build_context
from pynetdicom.presentation import PresentationContext
from sqlalchemy import select

from publisher.config import DicomSettings
from publisher.config.routing import Destination, ForwardSettings, Route
from publisher.db.models import Instance
from publisher.db.session import Database
from publisher.dicom.sop_classes import UNCOMPRESSED_TRANSFER_SYNTAXES
from publisher.dicom.storage_scu import NATIVE, InstanceRef, accepted_syntaxes, associate, storage_contexts
from publisher.media.transcode.decode import DecodeError, decode
from publisher.media.transcode.encode import EncodeError, compress
from publisher.routing import queue, transform
from publisher.routing.router import QUARANTINE, Router

log = logging.getLogger(__name__)

_COMPRESSED = {"j2k-lossless": str(JPEG2000Lossless), "jpeg-lossless": str(JPEGLosslessSV1)}


@dataclass(frozen=True)
class Outcome:
    sent: int = 0
    failed: int = 0
    retry: int = 0


class Forwarder:
    """Routes new instances and sends what is due; ``tick`` once, or ``start`` a thread."""

    def __init__(self, db: Database, archive_root: Path, dicom: DicomSettings, router: Router,
                 destinations: Mapping[str, Destination], settings: ForwardSettings) -> None:
        self.db, self.archive_root, self.dicom, self.router = db, archive_root, dicom, router
        self.remotes = {r.ae_title: r for r in dicom.remotes}
        self.destinations = dict(destinations)
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> Outcome:
        while self.router.tick():
            pass
        total = Outcome()
        for dest in queue.destinations_due(self.db):
            if dest == QUARANTINE:
                continue
            out = self.send_due(dest)
            total = Outcome(total.sent + out.sent, total.failed + out.failed, total.retry + out.retry)
        return total

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="forwarder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the loop survives a bad moment of the database
                log.exception("forwarder tick failed")
            self._stop.wait(self.settings.tick_seconds)

    def send_due(self, dest: str) -> Outcome:
        items = queue.due(self.db, dest, self.settings.batch)
        if not items:
            return Outcome()
        remote = self.remotes.get(dest)
        if remote is None:
            self._failed([i.id for i in items], f"{dest} is not a configured remote ([dicom] remotes)", permanent=True)
            return Outcome(failed=len(items))
        refs = self._refs([i.sop_instance_uid for i in items])
        missing = [i.id for i in items if i.sop_instance_uid not in refs]
        if missing:
            self._failed(missing, "the instance is no longer in the archive", permanent=True)
        items = [i for i in items if i.sop_instance_uid in refs]
        if not items:
            return Outcome(failed=len(missing))
        conf = self.destinations.get(dest, Destination(dest))
        contexts = _contexts(conf, [refs[i.sop_instance_uid] for i in items])
        where = f"{remote.ae_title} at {remote.host}:{remote.port}"
        try:
            assoc = associate(self.dicom, remote, contexts)
        except Exception as exc:  # noqa: BLE001 - TLS or socket trouble is a reason to retry
            self._failed([i.id for i in items], f"no association with {where}: {exc}")
            return Outcome(retry=len(items))
        if not assoc.is_established:
            self._failed([i.id for i in items], f"association with {where} was not accepted (refused, or nothing listens)")
            return Outcome(retry=len(items))
        sent = failed = 0
        accepted = accepted_syntaxes(assoc.accepted_contexts)
        try:
            for n, item in enumerate(items):
                if not assoc.is_established:
                    rest = [i.id for i in items[n:]]
                    self._failed(rest, f"the association with {where} ended")
                    return Outcome(sent, failed + len(missing), len(rest))
                ref = refs[item.sop_instance_uid]
                try:
                    payload = self._payload(ref, conf, accepted)
                    status = assoc.send_c_store(payload)
                except (DecodeError, EncodeError, _NotSendable, OSError) as exc:
                    self._failed([item.id], str(exc), permanent=True)
                    failed += 1
                    continue
                code = int(getattr(status, "Status", -1)) if status else -1
                if code == 0 or code in (0xB000, 0xB006, 0xB007) or (code >> 12) == 0xB:
                    queue.mark_sent(self.db, item.id)
                    sent += 1
                elif code == -1:
                    self._failed([item.id], f"no C-STORE response from {where}")
                elif (code >> 8) == 0xA7:
                    self._failed([item.id], f"{where} is out of resources (status 0x{code:04X})")
                else:
                    self._failed([item.id], f"{where} refused the instance: status 0x{code:04X}", permanent=True)
                    failed += 1
        finally:
            if assoc.is_established:
                assoc.release()
        return Outcome(sent, failed + len(missing))

    def _failed(self, ids: list[int], why: str, permanent: bool = False) -> None:
        log.warning("forward: %d instance(s): %s", len(ids), why)
        queue.mark_attempt_failed(self.db, ids, why, backoff=self.settings.backoff_seconds,
                                  max_backoff=self.settings.max_backoff_seconds,
                                  max_attempts=self.settings.max_attempts, permanent=permanent)

    def _refs(self, uids: list[str]) -> dict[str, InstanceRef]:
        with self.db.session() as s:
            rows = s.execute(select(Instance.sop_instance_uid, Instance.sop_class_uid, Instance.transfer_syntax_uid, Instance.path)
                             .where(Instance.sop_instance_uid.in_(uids))).all()
        return {u: InstanceRef(u, c, t, self.archive_root / p) for u, c, t, p in rows}

    def _payload(self, ref: InstanceRef, conf: Destination, accepted: Mapping[str, set[str]]) -> Dataset | Path:
        """What to C-STORE: the stored file itself when nothing changes, else the changed dataset."""
        syntaxes = accepted.get(ref.sop_class_uid, set())
        if not syntaxes:
            raise _NotSendable(f"the destination accepted no presentation context for SOP class {ref.sop_class_uid}")
        changes_attributes = conf.remove_private or conf.remove or conf.set_if_missing or conf.patient_name != "as-received"
        wanted = _COMPRESSED.get(conf.transfer_syntax)
        if not changes_attributes and ref.transfer_syntax_uid in syntaxes and (wanted is None or ref.transfer_syntax_uid == wanted):
            return ref.path
        with tempfile.TemporaryDirectory(prefix="forward-") as tmp:
            scratch = Path(tmp) / "scratch.dcm"
            ds: Dataset = dcmread(ref.path)
            native_ok = syntaxes & set(UNCOMPRESSED_TRANSFER_SYNTAXES)
            compressed = ref.transfer_syntax_uid not in UNCOMPRESSED_TRANSFER_SYNTAXES
            if compressed and (conf.transfer_syntax == "native" or ref.transfer_syntax_uid not in syntaxes) and native_ok:
                ds = decode(ref.path, scratch)  # lossless decode; stays the same instance
                ds.file_meta.TransferSyntaxUID = UID(NATIVE[0])
            if wanted and wanted in syntaxes and str(ds.file_meta.TransferSyntaxUID) in UNCOMPRESSED_TRANSFER_SYNTAXES \
                    and "PixelData" in ds:
                native_file = Path(tmp) / "native.dcm"
                ds.save_as(native_file, enforce_file_format=True)
                try:
                    ds = compress(dcmread(native_file), native_file, wanted, scratch)
                except EncodeError as exc:
                    log.info("forward %s: sent native, not compressed: %s", ref.sop_instance_uid, exc)
            transform.apply(ds, conf, modifying_system=self.dicom.ae_title, source=self._source(ref))
            if str(ds.file_meta.TransferSyntaxUID) not in syntaxes and not (
                    str(ds.file_meta.TransferSyntaxUID) in UNCOMPRESSED_TRANSFER_SYNTAXES and native_ok):
                raise _NotSendable(f"the destination accepts {', '.join(sorted(syntaxes))}, the instance is "
                                   f"{ds.file_meta.TransferSyntaxUID}")
            return ds

    def _source(self, ref: InstanceRef) -> str:
        with self.db.session() as s:
            return s.scalar(select(Instance.calling_ae).where(Instance.sop_instance_uid == ref.sop_instance_uid)) or ""


class _NotSendable(Exception):
    pass


def _contexts(conf: Destination, refs: list[InstanceRef]) -> list[PresentationContext]:
    """Presentation contexts for ``refs`` as ``conf`` wants them sent."""
    classes = sorted({r.sop_class_uid for r in refs})
    if conf.transfer_syntax == "native":
        return [build_context(c, NATIVE) for c in classes][:128]
    if conf.transfer_syntax in _COMPRESSED:
        ts = _COMPRESSED[conf.transfer_syntax]
        return ([build_context(c, [ts]) for c in classes] + [build_context(c, NATIVE) for c in classes])[:128]
    return storage_contexts(refs)


def build(db: Database, archive_root: Path, dicom: DicomSettings, routes: Sequence[Route], destinations: Sequence[Destination],
          settings: ForwardSettings) -> Forwarder:
    """The router and forwarder of a service's settings."""
    return Forwarder(db, archive_root, dicom, Router(db, archive_root, routes), {d.ae_title: d for d in destinations}, settings)
