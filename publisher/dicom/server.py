"""Our application entity as a server: contexts, association control and service handlers.

Handlers are bound to pynetdicom events (``evt.EVT_C_STORE`` ...), one per DIMSE service.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from publisher.archive.ingest import Archive
from publisher.config import AllowedCaller, DicomSettings
from publisher.db.session import Database
from publisher.dicom.access import REJECT_PERMANENT, SOURCE_SERVICE_USER, AccessPolicy
from publisher.dicom.commitment import CommitmentHandler
from publisher.dicom.qr_scp import FindHandler, GetHandler, MoveHandler, handle_sop_extended
from publisher.dicom.sop_classes import (
    QUERY_RETRIEVE_SOP_CLASSES,
    STORAGE_COMMITMENT_PUSH,
    VERIFICATION,
    storage_sop_class_uids,
    transfer_syntax_uids,
)
from publisher.dicom.storage_association import (
    ActiveCount,
    StorageAcceptor,
    parse_request,
    peek_pdu,
    reject_pdu,
    storage_only,
)
from publisher.dicom.storage_scp import StorageHandler, handle_echo

log = logging.getLogger(__name__)


def build_ae(settings: DicomSettings) -> AE:
    """An AE accepting every storage SOP class in every listed transfer syntax."""
    ae = AE(ae_title=settings.ae_title)
    ae.maximum_associations = settings.max_associations
    ae.acse_timeout = settings.acse_timeout
    ae.dimse_timeout = settings.dimse_timeout
    ae.network_timeout = settings.network_timeout
    ae.maximum_pdu_size = settings.max_pdu_size
    syntaxes = transfer_syntax_uids()
    for uid in storage_sop_class_uids(settings.private_sop_classes):
        # Both roles may be proposed (PS3.7 D.3.3.4): a C-GET requestor acts as Storage SCP.
        ae.add_supported_context(uid, syntaxes, scu_role=True, scp_role=True)
    ae.add_supported_context(VERIFICATION, syntaxes[:3])
    ae.add_supported_context(STORAGE_COMMITMENT_PUSH, syntaxes[:3])
    for _model, find, move, get in QUERY_RETRIEVE_SOP_CLASSES:
        for uid in (find, move, get):
            ae.add_supported_context(uid, syntaxes[:3])
    return ae


def allowed_callers(settings: DicomSettings) -> tuple[AllowedCaller, ...]:
    """The allow-list plus every configured remote: a PACS answering our C-MOVE stores to us."""
    known = {c.ae_title for c in settings.allowed_callers}
    return settings.allowed_callers + tuple(AllowedCaller(r.ae_title) for r in settings.remotes if r.ae_title not in known)


#: Seconds pynetdicom's per-association DUL loop sleeps when it found nothing to do. Its
#: default (1 ms) costs about 1.5 ms of dead time per C-STORE on loopback (measured with
#: pynetdicom's EVT_PDU_* timestamps: response sent -> next PDU read, response queued -> sent),
#: which dominates receive time for image streams. 0.2 ms halves a 500-image receive while an
#: idle association still sleeps most of the time.
DUL_LOOP_DELAY = 0.0002


def tune_reactor(event: evt.Event) -> None:
    """EVT_REQUESTED: shorten the DUL polling delay of this association (see DUL_LOOP_DELAY)."""
    dul = getattr(event.assoc, "dul", None)
    if dul is not None and hasattr(dul, "_run_loop_delay"):
        dul._run_loop_delay = DUL_LOOP_DELAY


class PublisherServer(ThreadedAssociationServer):
    """pynetdicom's threaded server, with storage-only associations served by the lean path.

    Each new connection's A-ASSOCIATE-RQ is peeked (not consumed): when the requestor proposes
    only storage SOP classes and Verification, :class:`StorageAcceptor` serves it; anything
    else (query/retrieve, commitment, C-GET role selection, TLS) goes to pynetdicom untouched.
    """

    lean: StorageAcceptor | None = None
    policy: AccessPolicy
    storage_classes: frozenset[str] = frozenset()
    other_services: frozenset[str] = frozenset()
    max_associations: int = 16
    acse_timeout: float = 30.0
    lean_active: ActiveCount

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        if self.lean is not None and self.ssl_context is None:
            pdu = peek_pdu(request, self.acse_timeout)
            rq = parse_request(pdu) if pdu else None
            if pdu and rq is not None and storage_only(rq, self.other_services):
                try:
                    self._serve_lean(request, rq, len(pdu), str(client_address[0]))
                finally:
                    self.shutdown_request(request)
                return
        super().process_request_thread(request, client_address)

    def _serve_lean(self, sock: Any, rq: Any, length: int, address: str) -> None:
        assert self.lean is not None
        reason = self.policy.check(str(rq.calling_ae_title), str(rq.called_ae_title), address)
        if reason is not None:
            log.warning("rejecting association from %s at %s (reason %d)", str(rq.calling_ae_title).strip(), address, reason)
            sock.sendall(reject_pdu(REJECT_PERMANENT, SOURCE_SERVICE_USER, reason))
            return
        busy = self.lean_active.value + sum(1 for a in self.ae.active_associations if a.is_acceptor)
        if busy >= self.max_associations:
            sock.sendall(reject_pdu(0x02, 0x03, 0x02))  # transient, presentation related, local limit exceeded
            return
        with self.lean_active:
            self.lean.serve(sock, rq, length, address)



def start_server(settings: DicomSettings, archive: Archive, db: Database) -> ThreadedAssociationServer:
    """Listen on ``settings.bind:settings.port`` in background threads; ``.shutdown()`` stops."""
    ae = build_ae(settings)
    policy = AccessPolicy(settings.ae_title, settings.promiscuous, allowed_callers(settings))
    storage = StorageHandler(archive)
    handlers: list[Any] = [
        (evt.EVT_REQUESTED, tune_reactor),
        (evt.EVT_REQUESTED, policy.on_requested),
        (evt.EVT_C_ECHO, handle_echo),
        (evt.EVT_C_STORE, storage),
        (evt.EVT_N_ACTION, CommitmentHandler(db, archive.root, settings.ae_title, lambda: settings.remotes)),
        (evt.EVT_C_FIND, FindHandler(db, settings.ae_title)),
        (evt.EVT_C_MOVE, MoveHandler(db, archive.root, settings, lambda: settings.remotes)),
        (evt.EVT_C_GET, GetHandler(db, archive.root)),
        (evt.EVT_SOP_EXTENDED, handle_sop_extended),
    ]
    server = ae.make_server((settings.bind, settings.port), evt_handlers=handlers, server_class=PublisherServer)
    assert isinstance(server, PublisherServer)
    server.policy = policy
    server.storage_classes = frozenset(storage_sop_class_uids(settings.private_sop_classes))
    server.other_services = frozenset(
        str(cx.abstract_syntax) for cx in ae.supported_contexts if str(cx.abstract_syntax) not in server.storage_classes | {VERIFICATION}
    )
    server.max_associations = settings.max_associations
    server.acse_timeout = settings.acse_timeout
    server.lean_active = ActiveCount()
    if settings.lean_storage:
        server.lean = StorageAcceptor(
            settings.ae_title,
            [cx for cx in ae.supported_contexts if str(cx.abstract_syntax) in server.storage_classes | {VERIFICATION}],
            settings.max_pdu_size,
            settings.network_timeout,
            storage.begin,
        )
    thread = threading.Thread(target=server.serve_forever, name="DicomServer", daemon=True)
    thread.start()
    ae._servers.append(server)  # as AE.start_server does, so AE.shutdown() reaches it too
    return server
