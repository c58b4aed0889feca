"""Our application entity as a server: contexts, association control and service handlers.

Handlers are bound to pynetdicom events (``evt.EVT_C_STORE`` ...), one per DIMSE service.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any, cast

from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from publisher.archive.ingest import Archive
from publisher.config import AllowedCaller, DicomSettings, RemoteAE
from publisher.db.session import Database
from publisher.dicom.access import REJECT_PERMANENT, SOURCE_SERVICE_USER, AccessPolicy, permitted
from publisher.dicom.commitment import CommitmentHandler
from publisher.dicom.find_association import FIND_CLASSES, FindAcceptor, find_only
from publisher.dicom.media_scp import MediaCreationHandler, MediaOrders, action_dispatch
from publisher.dicom.qr_scp import FindHandler, GetHandler, MoveHandler, handle_sop_extended
from publisher.dicom.sop_classes import (
    MEDIA_CREATION_MANAGEMENT,
    QUERY_RETRIEVE_SOP_CLASSES,
    STORAGE_COMMITMENT_PUSH,
    VERIFICATION,
    storage_sop_class_uids,
    transfer_syntax_uids,
)
from publisher.dicom.association_setup import LIMIT_EXCEEDED, SetupGate, Slots, reject_pdu
from publisher.dicom.storage_association import StorageAcceptor, abort_pdu, mend_requested, parse_request, storage_only
from publisher.dicom.storage_scp import StorageHandler, handle_echo
from publisher.dicom.tls import server_context
from publisher.dicomio.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

log = logging.getLogger(__name__)


def build_ae(settings: DicomSettings, media: bool = False) -> AE:
    """An AE accepting every storage SOP class in every listed transfer syntax (and, with
    ``media``, Media Creation Management, PS3.4 Annex S)."""
    ae = AE(ae_title=settings.ae_title)
    # the identity the lean path and our files carry too (PS3.7 D.3.3.2), not pynetdicom's
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
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
    if media:
        ae.add_supported_context(MEDIA_CREATION_MANAGEMENT, syntaxes[:3])
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

    A new connection waits in the :class:`SetupGate` (no thread, no slot) until its whole
    A-ASSOCIATE-RQ is in; then it takes one of ``max_associations`` slots (shared by every
    port and both paths) or is refused with A-ASSOCIATE-RJ. When the requestor proposes only
    storage SOP classes and Verification, :class:`StorageAcceptor` serves it; anything else
    (query/retrieve, commitment, C-GET role selection) goes to pynetdicom untouched.

    On a plain port the request was only peeked at, so whoever serves reads it afresh. On the
    TLS port (``ssl_context``) the gate did the handshake and read (consumed) the request: a
    storage-only association goes to the lean path as on the plain port, any other to
    pynetdicom with the bytes already read given back first (:class:`_Replay`).
    """

    lean: StorageAcceptor | None = None
    lean_find: FindAcceptor | None = None
    policy: AccessPolicy
    storage_classes: frozenset[str] = frozenset()
    other_services: frozenset[str] = frozenset()
    gate: SetupGate
    slots: Slots
    #: Servers stopped with this one (the TLS port's, beside the plain port's).
    companions: tuple["PublisherServer", ...] = ()
    #: The remotes C-MOVE and Storage Commitment answer to (one cell, shared with the handlers).
    remotes: list[tuple[RemoteAE, ...]]

    def configure(self, settings: DicomSettings) -> None:
        """Take the allowed callers and remotes of ``settings`` without a restart (the web UI's
        Settings page); the other ``[dicom]`` settings need one."""
        self.remotes[0] = settings.remotes
        self.policy.replace_callers(allowed_callers(settings))

    def get_request(self) -> tuple[Any, Any]:
        if self.ssl_context is None:
            return super().get_request()
        assert self.socket is not None
        client, address = self.socket.accept()
        return self.ssl_context.wrap_socket(client, server_side=True, do_handshake_on_connect=False), address

    def process_request(self, request: Any, client_address: Any) -> None:
        """A connection just accepted: it waits in the gate for its association request."""
        self.gate.add(request, client_address, tls=self.ssl_context is not None)

    def dispatch(self, sock: Any, client_address: Any, request: bytes) -> None:
        """The request is whole (``request``: its bytes; consumed already on TLS only)."""
        address = str(client_address[0])
        unread = 0 if isinstance(sock, ssl.SSLSocket) else len(request)
        rq = parse_request(request)
        if rq is None:  # PS3.8 9.3.8: A-ABORT, unrecognized / unexpected PDU or invalid parameter
            reason = 0x06 if request[:1] == b"\x01" else 0x02 if request[:1] in (b"\x02", b"\x03", b"\x04", b"\x05", b"\x06", b"\x07") else 0x01
            log.warning("aborting the connection from %s: its first PDU (type 0x%02X) is not a well-formed A-ASSOCIATE-RQ",
                        address, request[0] if request else 0)
            self.gate.refuse(sock, abort_pdu(2, reason), unread)
            return
        if _sent_more(sock, len(request) if unread else 0):  # PS3.8 9.2 Sta3: nothing may follow before our answer
            log.warning("aborting the connection from %s: it sent more after its A-ASSOCIATE-RQ without waiting for the answer",
                        address)
            self.gate.refuse(sock, abort_pdu(2, 0x02), unread)
            return
        if not self.slots.take():
            log.warning("refusing an association from %s: %d associations already (dicom.max_associations)",
                        address, self.slots.limit)
            self.gate.refuse(sock, reject_pdu(*LIMIT_EXCEEDED), unread)
            return
        try:
            if self.lean is not None and storage_only(rq, self.other_services):
                self._serve_lean(sock, rq, unread, address, self.lean)
                return
            if self.lean_find is not None and find_only(rq):
                self._serve_lean(sock, rq, unread, address, self.lean_find)
                return
            if unread == 0:
                _Replay.give_back(sock, request)
            sock.settimeout(self.ae.network_timeout or None)  # a peer that stops mid-PDU cannot hold pynetdicom's reactor
            super().process_request_thread(sock, client_address)
        except Exception:  # never a silent close: the lean path answers its own errors
            log.exception("association from %s failed", address)
            self.shutdown_request(sock)
        finally:
            self.slots.give_back()

    def _serve_lean(self, sock: Any, rq: Any, unread: int, address: str, lean: StorageAcceptor) -> None:
        reason = self.policy.check(str(rq.calling_ae_title), str(rq.called_ae_title), address)
        if reason is not None:
            log.warning("rejecting association from %s at %s (reason %d)", str(rq.calling_ae_title).strip(), address, reason)
            self.gate.refuse(sock, reject_pdu(REJECT_PERMANENT, SOURCE_SERVICE_USER, reason), unread)
            return
        contexts = permitted(lean.supported, self.policy.services(str(rq.calling_ae_title), address))
        try:
            lean.serve(sock, rq, unread, address, contexts)
        finally:
            self.shutdown_request(sock)

    _stopped: bool = False

    def shutdown(self) -> None:
        """Stop this port and its companions; once only (``AE.shutdown()`` stops each server too)."""
        if self._stopped:
            return
        self._stopped = True
        for other in self.companions:
            other.shutdown()
        super().shutdown()
        self.gate.stop()


def _sent_more(sock: Any, peeked: int) -> bool:
    """Whether bytes beyond the request (``peeked`` bytes still unread; 0 on TLS) are there."""
    if isinstance(sock, ssl.SSLSocket):
        return sock.pending() > 0  # decrypted bytes already read past the request
    try:
        return len(sock.recv(peeked + 1, socket.MSG_PEEK | socket.MSG_DONTWAIT)) > peeked
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return False


class _Replay(ssl.SSLSocket):
    """An SSL socket whose first bytes read are ones already read from it (the request a TLS
    connection began with), for pynetdicom: its reactor reads with ``recv`` once ``select`` or
    ``pending()`` says data is there."""

    _replay: bytes = b""

    @classmethod
    def give_back(cls, sock: ssl.SSLSocket, data: bytes) -> None:
        if data:
            sock.__class__ = cls
            cast(_Replay, sock)._replay = data

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        if self._replay:
            out, self._replay = self._replay[:buflen], self._replay[buflen:]
            return out
        return super().recv(buflen, flags)

    def pending(self) -> int:
        return len(self._replay) + super().pending()


def start_server(settings: DicomSettings, archive: Archive, db: Database, orders: MediaOrders | None = None,
                 cancel_burn: Callable[[int], bool] | None = None) -> ThreadedAssociationServer:
    """Listen on ``settings.bind:settings.port`` in background threads; ``.shutdown()`` stops.

    With ``settings.tls_port`` also on that port, over TLS, with the same handlers and rules;
    the returned server's ``.shutdown()`` stops both. A TLS file that cannot be used is a
    :class:`~publisher.config.ConfigError` naming it, raised before anything listens. With
    ``orders`` (where media creation requests are kept) the Media Creation Management SCP is
    offered too; ``cancel_burn`` asks the robot to stop a burning job."""
    tls = server_context(settings) if settings.tls_port else None
    ae = build_ae(settings, media=orders is not None)
    policy = AccessPolicy(settings.ae_title, settings.promiscuous, allowed_callers(settings), settings.promiscuous_services)
    storage = StorageHandler(archive)
    find = FindHandler(db, settings.ae_title)
    remotes: list[tuple[RemoteAE, ...]] = [settings.remotes]  # [0] replaced by PublisherServer.configure
    actions: dict[str, Callable[[evt.Event], tuple[int, Any]]] = {  # N-ACTION by SOP class
        STORAGE_COMMITMENT_PUSH: CommitmentHandler(db, archive.root, settings.ae_title, lambda: remotes[0], settings)}
    media = None
    if orders is not None:
        media = MediaCreationHandler(orders, archive, settings, lambda: remotes[0], cancel_burn)
        actions[MEDIA_CREATION_MANAGEMENT] = media.on_action
    handlers: list[Any] = [
        (evt.EVT_REQUESTED, tune_reactor),
        (evt.EVT_REQUESTED, mend_requested),
        (evt.EVT_REQUESTED, policy.on_requested),
        (evt.EVT_C_ECHO, handle_echo),
        (evt.EVT_C_STORE, policy.guard_store(storage)),
        (evt.EVT_N_ACTION, action_dispatch(actions)),
        (evt.EVT_C_FIND, find),
        (evt.EVT_C_MOVE, MoveHandler(db, archive.root, settings, lambda: remotes[0])),
        (evt.EVT_C_GET, GetHandler(db, archive.root)),
        (evt.EVT_SOP_EXTENDED, handle_sop_extended),
    ]
    if media is not None:
        handlers += [(evt.EVT_N_CREATE, media.on_create), (evt.EVT_N_GET, media.on_get)]
    slots = Slots(settings.max_associations)
    server = _listen(ae, settings, settings.port, handlers, policy, storage, None, slots, find)
    server.remotes = remotes
    if tls is not None:
        try:
            server.companions = (_listen(ae, settings, settings.tls_port, handlers, policy, storage, tls, slots, find),)
        except BaseException:
            server.shutdown()
            raise
    if media is not None:
        media.resume()
    return server


def _listen(ae: AE, settings: DicomSettings, port: int, handlers: list[Any], policy: AccessPolicy,
            storage: StorageHandler, tls: ssl.SSLContext | None, slots: Slots, find: FindHandler) -> PublisherServer:
    """One listening port (plain or TLS) with ``handlers``, served in a background thread."""
    server = ae.make_server((settings.bind, port), evt_handlers=handlers, ssl_context=tls, server_class=PublisherServer)
    assert isinstance(server, PublisherServer)
    server.policy = policy
    server.storage_classes = frozenset(storage_sop_class_uids(settings.private_sop_classes))
    server.other_services = frozenset(
        str(cx.abstract_syntax) for cx in ae.supported_contexts if str(cx.abstract_syntax) not in server.storage_classes | {VERIFICATION}
    )
    server.slots = slots
    server.gate = SetupGate(settings.request_timeout, settings.max_pending_per_address, server.dispatch)
    server.gate.start()
    if settings.lean_storage:
        server.lean = StorageAcceptor(
            settings.ae_title,
            [cx for cx in ae.supported_contexts if str(cx.abstract_syntax) in server.storage_classes | {VERIFICATION}],
            settings.max_pdu_size,
            settings.network_timeout,
            storage.begin,
        )
    if settings.lean_find:
        queries = FIND_CLASSES | {VERIFICATION}
        server.lean_find = FindAcceptor.make(settings.ae_title, [cx for cx in ae.supported_contexts if str(cx.abstract_syntax) in queries],
                                             settings.max_pdu_size, settings.network_timeout, find)
    thread = threading.Thread(target=server.serve_forever, name="DicomServerTLS" if tls else "DicomServer", daemon=True)
    thread.start()
    ae._servers.append(server)  # as AE.start_server does, so AE.shutdown() reaches it too
    return server
