"""Our application entity as a server: contexts, association control and service handlers.

Handlers are bound to pynetdicom events (``evt.EVT_C_STORE`` ...), one per DIMSE service.
"""

from __future__ import annotations

import logging
import ssl
import struct
import threading
from typing import Any, cast

from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer

from publisher.archive.ingest import Archive
from publisher.config import AllowedCaller, DicomSettings
from publisher.db.session import Database
from publisher.dicom.access import REJECT_PERMANENT, SOURCE_SERVICE_USER, AccessPolicy, permitted
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
from publisher.dicom.tls import peer_subject, server_context

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
    else (query/retrieve, commitment, C-GET role selection) goes to pynetdicom untouched.

    With an ``ssl_context`` (the TLS port) the TLS handshake runs in the connection's own thread
    with ``acse_timeout`` (pynetdicom does it in the accepting thread, where one silent client
    would stop every other from connecting). An :class:`ssl.SSLSocket` cannot peek (``recv``
    refuses ``MSG_PEEK``), so there the request is read (consumed) instead: a storage-only
    association goes to the lean path as on the plain port, any other to pynetdicom with the
    bytes already read given back first (:class:`_Replay`).
    """

    lean: StorageAcceptor | None = None
    policy: AccessPolicy
    storage_classes: frozenset[str] = frozenset()
    other_services: frozenset[str] = frozenset()
    max_associations: int = 16
    acse_timeout: float = 30.0
    lean_active: ActiveCount
    #: Servers stopped with this one (the TLS port's, beside the plain port's).
    companions: tuple["PublisherServer", ...] = ()

    def get_request(self) -> tuple[Any, Any]:
        if self.ssl_context is None:
            return super().get_request()
        assert self.socket is not None
        client, address = self.socket.accept()
        return self.ssl_context.wrap_socket(client, server_side=True, do_handshake_on_connect=False), address

    def _handshake(self, sock: ssl.SSLSocket, address: str) -> bool:
        """The TLS handshake of a new connection on the TLS port, at most ``acse_timeout`` long."""
        try:
            sock.settimeout(self.acse_timeout)
            sock.do_handshake()
            sock.settimeout(None)  # as pynetdicom has accepted sockets: blocking
        except ssl.SSLCertVerificationError as exc:
            log.warning("TLS: refused the certificate of %s: %s", address, exc.verify_message or exc.reason)
            return False
        except (OSError, ValueError) as exc:  # ssl.SSLError, reset, timeout, a plain-TCP caller
            log.warning("TLS handshake with %s failed: %s", address, getattr(exc, "reason", None) or exc)
            return False
        log.info("TLS connection from %s (certificate %r, %s)", address, peer_subject(sock), sock.version())
        return True

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is not None:
            if not self._handshake(request, str(client_address[0])):
                self.shutdown_request(request)
                return
            if self.lean is not None:
                data = read_request(request, self.acse_timeout)
                rq = parse_request(data) if data else None
                if rq is not None and storage_only(rq, self.other_services):
                    try:
                        self._serve_lean(request, rq, 0, str(client_address[0]))  # 0: nothing left to consume
                    finally:
                        self.shutdown_request(request)
                    return
                _Replay.give_back(request, data)
        elif self.lean is not None:
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
        contexts = permitted(self.lean.supported, self.policy.services(str(rq.calling_ae_title), address))
        with self.lean_active:
            self.lean.serve(sock, rq, length, address, contexts)

    _stopped: bool = False

    def shutdown(self) -> None:
        """Stop this port and its companions; once only (``AE.shutdown()`` stops each server too)."""
        if self._stopped:
            return
        self._stopped = True
        for other in self.companions:
            other.shutdown()
        super().shutdown()


def read_request(sock: ssl.SSLSocket, timeout: float, limit: int = 1 << 20) -> bytes:
    """The first PDU on ``sock`` (consumed), or the bytes read before the peer stopped, the
    ``timeout`` passed or the PDU proved longer than ``limit`` (pynetdicom then answers)."""
    data = bytearray()
    want = 6
    try:
        sock.settimeout(timeout)
        while len(data) < want:
            chunk = sock.recv(want - len(data))
            if not chunk:
                break
            data += chunk
            if len(data) == 6:
                want = 6 + struct.unpack(">I", bytes(data[2:6]))[0]
                if want > limit:
                    break
    except (OSError, ValueError):
        pass
    finally:
        try:
            sock.settimeout(None)
        except OSError:
            pass
    return bytes(data)


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


def start_server(settings: DicomSettings, archive: Archive, db: Database) -> ThreadedAssociationServer:
    """Listen on ``settings.bind:settings.port`` in background threads; ``.shutdown()`` stops.

    With ``settings.tls_port`` also on that port, over TLS, with the same handlers and rules;
    the returned server's ``.shutdown()`` stops both. A TLS file that cannot be used is a
    :class:`~publisher.config.ConfigError` naming it, raised before anything listens."""
    tls = server_context(settings) if settings.tls_port else None
    ae = build_ae(settings)
    policy = AccessPolicy(settings.ae_title, settings.promiscuous, allowed_callers(settings), settings.promiscuous_services)
    storage = StorageHandler(archive)
    handlers: list[Any] = [
        (evt.EVT_REQUESTED, tune_reactor),
        (evt.EVT_REQUESTED, policy.on_requested),
        (evt.EVT_C_ECHO, handle_echo),
        (evt.EVT_C_STORE, policy.guard_store(storage)),
        (evt.EVT_N_ACTION, CommitmentHandler(db, archive.root, settings.ae_title, lambda: settings.remotes, settings)),
        (evt.EVT_C_FIND, FindHandler(db, settings.ae_title)),
        (evt.EVT_C_MOVE, MoveHandler(db, archive.root, settings, lambda: settings.remotes)),
        (evt.EVT_C_GET, GetHandler(db, archive.root)),
        (evt.EVT_SOP_EXTENDED, handle_sop_extended),
    ]
    server = _listen(ae, settings, settings.port, handlers, policy, storage, None)
    if tls is not None:
        try:
            server.companions = (_listen(ae, settings, settings.tls_port, handlers, policy, storage, tls),)
            server.companions[0].lean_active = server.lean_active  # one max_associations for both ports
        except BaseException:
            server.shutdown()
            raise
    return server


def _listen(ae: AE, settings: DicomSettings, port: int, handlers: list[Any], policy: AccessPolicy,
            storage: StorageHandler, tls: ssl.SSLContext | None) -> PublisherServer:
    """One listening port (plain or TLS) with ``handlers``, served in a background thread."""
    server = ae.make_server((settings.bind, port), evt_handlers=handlers, ssl_context=tls, server_class=PublisherServer)
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
    thread = threading.Thread(target=server.serve_forever, name="DicomServerTLS" if tls else "DicomServer", daemon=True)
    thread.start()
    ae._servers.append(server)  # as AE.start_server does, so AE.shutdown() reaches it too
    return server
