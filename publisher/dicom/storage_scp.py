"""Storage SCP (PS3.4 Annex B) and Verification SCP (PS3.4 Annex A) handlers.

The C-STORE handler never decodes the dataset: it takes the encoded bytes as received under the
accepted presentation context and hands them to the archive, which answers with a status.
"""

from __future__ import annotations

import logging

from typing import cast

from pydicom.dataset import Dataset
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom import evt

from publisher.archive.ingest import Archive, Incoming, Provenance, StoreRefused

log = logging.getLogger(__name__)


def handle_echo(event: evt.Event) -> int:
    """C-ECHO: always success (PS3.4 A.4)."""
    return 0x0000


class StorageHandler:
    """C-STORE answered by an :class:`Archive`: bound to ``evt.EVT_C_STORE`` for associations
    pynetdicom serves, and called directly by the lean storage path
    (:mod:`publisher.dicom.storage_association`)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def store(
        self, dataset: bytes | memoryview, transfer_syntax: str, abstract_syntax: str, sop_instance: str,
        calling_ae: str, address: str,
    ) -> tuple[int, str]:
        """(status, error comment) for one received dataset."""
        try:
            self.archive.store_encoded(
                dataset,
                transfer_syntax,
                sop_class_uid=abstract_syntax,
                sop_instance_uid=sop_instance,
                provenance=Provenance(calling_ae, address),
            )
        except StoreRefused as exc:
            log.warning("C-STORE from %s refused (0x%04X): %s", calling_ae, exc.status, exc.reason)
            return int(exc.status), exc.reason
        except Exception as exc:  # never leave the requestor without an answer
            log.exception("storing %s from %s failed", sop_instance, calling_ae)
            return 0xA700, f"processing failure: {exc.__class__.__name__}"
        return 0x0000, ""

    def begin(self, abstract_syntax: str, sop_instance: str, transfer_syntax: str, calling_ae: str, address: str) -> "Receipt":
        """Start receiving one instance in fragments (the lean path streams them to disk)."""
        return Receipt(self.archive.begin(abstract_syntax, sop_instance, transfer_syntax, Provenance(calling_ae, address)), calling_ae)

    def __call__(self, event: evt.Event) -> int | Dataset:
        req = cast(C_STORE, event.request)
        requestor = event.assoc.requestor
        status, comment = self.store(
            req.DataSet.getbuffer() if req.DataSet is not None else b"",
            str(event.context.transfer_syntax),
            str(event.context.abstract_syntax),
            str(req.AffectedSOPInstanceUID),
            str(requestor.ae_title).strip(),
            str(requestor.address),
        )
        if status == 0x0000:
            return 0x0000
        rsp = Dataset()
        rsp.Status = status
        rsp.ErrorComment = comment[:64]
        return rsp


class Receipt:
    """An instance being received: fragments in, then (status, error comment) out."""

    def __init__(self, incoming: Incoming, calling_ae: str) -> None:
        self.incoming = incoming
        self.calling_ae = calling_ae

    def write(self, fragment: bytes | memoryview) -> None:
        self.incoming.write(fragment)

    def finish(self) -> tuple[int, str]:
        try:
            self.incoming.finish()
        except StoreRefused as exc:
            log.warning("C-STORE from %s refused (0x%04X): %s", self.calling_ae, exc.status, exc.reason)
            return int(exc.status), exc.reason
        return 0x0000, ""

    def discard(self) -> None:
        self.incoming.discard()
