"""Storage SCP (PS3.4 Annex B) and Verification SCP (PS3.4 Annex A) handlers.

The C-STORE handler never decodes the dataset: it takes the encoded bytes as received under the
accepted presentation context and hands them to the archive, which answers with a status.
"""

from __future__ import annotations

import logging

from pydicom.dataset import Dataset
from pynetdicom import evt

from publisher.archive.ingest import Archive, Provenance, StoreRefused

log = logging.getLogger(__name__)


def handle_echo(event: evt.Event) -> int:
    """C-ECHO: always success (PS3.4 A.4)."""
    return 0x0000


class StorageHandler:
    """EVT_C_STORE bound to an :class:`Archive`."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def __call__(self, event: evt.Event) -> int | Dataset:
        req = event.request
        context = event.context
        requestor = event.assoc.requestor
        try:
            encoded = req.DataSet.getbuffer() if req.DataSet is not None else b""
            self.archive.store_encoded(
                encoded,
                str(context.transfer_syntax),
                sop_class_uid=str(context.abstract_syntax),
                sop_instance_uid=str(req.AffectedSOPInstanceUID),
                provenance=Provenance(str(requestor.ae_title).strip(), str(requestor.address)),
            )
        except StoreRefused as exc:
            log.warning("C-STORE from %s refused (0x%04X): %s", requestor.ae_title, exc.status, exc.reason)
            rsp = Dataset()
            rsp.Status = int(exc.status)
            rsp.ErrorComment = exc.reason[:64]
            return rsp
        return 0x0000
