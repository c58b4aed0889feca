"""Storage Commitment Push Model SCP (PS3.4 Annex J).

An N-ACTION (Action Type 1) asks us to commit to keeping a list of instances. We answer from
the index, counting as committed only instances whose row exists and whose file is on disk with
the size the index recorded. The result goes back in an N-EVENT-REPORT (Event Type 1: all
committed, 2: some failed) on the same association when it is still open, otherwise on a new
association to the requesting AE taken from the configured remotes (PS3.4 J.3.3).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import cast
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pynetdicom import AE, build_role, evt
from pynetdicom.dimse_primitives import N_ACTION

from publisher.archive import lookup
from publisher.config import DicomSettings, RemoteAE
from publisher.db.session import Database
from publisher.dicom.sop_classes import STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE
from publisher.dicom.tls import tls_args
from publisher.dicomio.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

log = logging.getLogger(__name__)

NO_SUCH_OBJECT_INSTANCE = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119


@dataclass(frozen=True)
class CommitmentResult:
    transaction_uid: str
    committed: list[tuple[str, str]]
    failed: list[tuple[str, str, int]]

    def event_report(self) -> tuple[int, Dataset]:
        """(Event Type ID, Event Information) of the N-EVENT-REPORT (PS3.4 J.3.3.1)."""
        ds = Dataset()
        ds.TransactionUID = self.transaction_uid
        ds.ReferencedSOPSequence = DicomSequence([_ref(c, i) for c, i in self.committed])
        if self.failed:
            items = []
            for c, i, reason in self.failed:
                item = _ref(c, i)
                item.FailureReason = reason
                items.append(item)
            ds.FailedSOPSequence = DicomSequence(items)
        return (2 if self.failed else 1), ds


def _ref(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item


def check_commitment(db: Database, archive_root: Path, transaction_uid: str, refs: Sequence[tuple[str, str]]) -> CommitmentResult:
    """Which of ``refs`` (SOP Class, SOP Instance) are durably stored, answered by the index."""
    committed: list[tuple[str, str]] = []
    failed: list[tuple[str, str, int]] = []
    rows = lookup.stored_instances(db, [i for _, i in refs])
    for sop_class, sop_instance in refs:
        row = rows.get(sop_instance)
        if row is None:
            failed.append((sop_class, sop_instance, NO_SUCH_OBJECT_INSTANCE))
            continue
        f = archive_root / row.path
        if row.sop_class_uid != sop_class:
            failed.append((sop_class, sop_instance, CLASS_INSTANCE_CONFLICT))
        elif not f.is_file() or f.stat().st_size != row.size:
            failed.append((sop_class, sop_instance, NO_SUCH_OBJECT_INSTANCE))
        else:
            committed.append((sop_class, sop_instance))
    return CommitmentResult(transaction_uid, committed, failed)


class CommitmentHandler:
    """EVT_N_ACTION for the Storage Commitment Push Model SOP Class."""

    def __init__(
        self,
        db: Database,
        archive_root: Path,
        our_ae_title: str,
        remotes: Callable[[], Sequence[RemoteAE]],
        settings: DicomSettings | None = None,
    ) -> None:
        self.db = db
        self.archive_root = archive_root
        self.our_ae_title = our_ae_title
        self.remotes = remotes
        #: For reports to remotes with ``tls = true`` (our certificate, the CA to verify them).
        self.settings = settings

    def __call__(self, event: evt.Event) -> tuple[int, Dataset | None]:
        req = cast(N_ACTION, event.request)
        if str(req.RequestedSOPClassUID) != STORAGE_COMMITMENT_PUSH or req.ActionTypeID != 1:
            return 0x0123, None  # No such action
        info = event.action_information
        refs = [(str(i.ReferencedSOPClassUID), str(i.ReferencedSOPInstanceUID)) for i in info.get("ReferencedSOPSequence", [])]
        transaction = str(info.get("TransactionUID", ""))
        if not transaction or not refs:
            return 0x0115, None  # Invalid argument value
        result = check_commitment(self.db, self.archive_root, transaction, refs)
        calling = str(event.assoc.requestor.ae_title).strip()
        threading.Thread(target=self._report, args=(event.assoc, calling, result), daemon=True).start()
        return 0x0000, None

    def _report(self, assoc: object, calling_ae: str, result: CommitmentResult) -> None:
        event_type, info = result.event_report()
        # Give the reactor time to send the N-ACTION response before the report.
        time.sleep(0.05)
        if getattr(assoc, "is_established", False):
            try:
                status = assoc.send_n_event_report(  # type: ignore[attr-defined]
                    info, event_type, STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE
                )
                if status and getattr(status, "Status", None) == 0x0000:
                    return
            except Exception as exc:  # the peer may release at any time
                log.info("commitment report on the same association failed: %s", exc)
        self._report_new_association(calling_ae, event_type, info)

    def _report_new_association(self, calling_ae: str, event_type: int, info: Dataset) -> None:
        remote = next((r for r in self.remotes() if r.ae_title == calling_ae), None)
        if remote is None:
            log.error("storage commitment for %s: no remote entry to report back to", calling_ae)
            return
        ae = AE(ae_title=self.our_ae_title)
        ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID  # ours, not pynetdicom's (PS3.7 D.3.3.2)
        ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
        ae.add_requested_context(STORAGE_COMMITMENT_PUSH)
        role = build_role(STORAGE_COMMITMENT_PUSH, scp_role=True, scu_role=False)
        tls = tls_args(remote, self.settings) if self.settings is not None else None
        if remote.tls and tls is None:
            log.error("storage commitment report to %s: the remote wants TLS and no DICOM settings were given", calling_ae)
            return
        assoc = ae.associate(remote.host, remote.port, ae_title=remote.ae_title, ext_neg=[role], tls_args=tls)
        if not assoc.is_established:
            log.error("storage commitment report to %s failed: association refused", calling_ae)
            return
        try:
            assoc.send_n_event_report(info, event_type, STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE)
        finally:
            assoc.release()
