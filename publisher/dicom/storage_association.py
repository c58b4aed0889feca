"""A lean acceptor for storage-only associations: the hot path of every modality and PACS send.

pynetdicom's reactors poll (its DUL and association threads sleep between checks) and decode
every PDU into Python objects; on a 500-image CT that costs more than filing the images
durably (``docs/performance.md``). An association whose requestor proposes only Storage SOP
classes and Verification, with no role selection or user identity, is served here instead:
one thread reads PDUs with blocking ``recv_into``, answers C-STORE and C-ECHO, and hands each
dataset to the archive as received (on the TLS port too: ``recv_into`` and ``sendall`` work on
an SSL socket). Everything else (query/retrieve, storage commitment, C-GET) stays with
pynetdicom, which also does the association negotiation for us: A-ASSOCIATE-RQ decoding,
presentation context negotiation and A-ASSOCIATE-AC encoding are its code.

References: PS3.8 9.3 (PDU structures), 9.3.5 (P-DATA-TF and its PDVs), Annex E (message control
header); PS3.7 9.3.1 (C-STORE), 9.3.5 (C-ECHO), E.1 (command set encoding).
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydicom.uid import UID
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
    SCP_SCU_RoleSelectionNegotiation,
    UserIdentityNegotiation,
)
from pynetdicom.presentation import PresentationContext, negotiate_as_acceptor

from publisher.dicom.sop_classes import VERIFICATION
from publisher.dicomio.encode import ascii_value, implicit_element, uid_value
from publisher.dicomio.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

log = logging.getLogger(__name__)

# PDU types (PS3.8 Table 9-11)
A_ASSOCIATE_RQ_TYPE = 0x01
A_ASSOCIATE_RJ_TYPE = 0x03
P_DATA_TF_TYPE = 0x04
A_RELEASE_RQ_TYPE = 0x05
A_RELEASE_RP_TYPE = 0x06
A_ABORT_TYPE = 0x07

C_STORE_RQ, C_STORE_RSP = 0x0001, 0x8001
C_ECHO_RQ, C_ECHO_RSP = 0x0030, 0x8030
NO_DATASET = 0x0101

#: A PDU longer than this is refused even when our maximum PDU size is "unlimited" (0): the
#: body is read into memory.
HARD_PDU_LIMIT = 64 * 1024 * 1024

class Receiving(Protocol):
    """One instance being received: its data fragments as they arrive (each a view of its own
    PDU buffer, never reused), then (status, error comment) once the last one is in."""

    def write(self, fragment: bytes | memoryview) -> None: ...

    def finish(self) -> tuple[int, str]: ...

    def discard(self) -> None: ...


#: Start receiving (abstract syntax, SOP Instance UID, transfer syntax, calling AE, address).
BeginFunction = Callable[[str, str, str, str, str], Receiving]


class AbortAssociation(Exception):
    """A protocol error: the association is aborted with an A-P-ABORT (PS3.8 7.4)."""

    def __init__(self, reason: int, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_exact(sock: socket.socket, view: memoryview) -> None:
    """Fill ``view`` from ``sock`` (blocking, with the socket's timeout)."""
    while view:
        n = sock.recv_into(view)
        if n == 0:
            raise ConnectionError("peer closed the connection")
        view = view[n:]


def parse_request(pdu: bytes) -> A_ASSOCIATE | None:
    """The A-ASSOCIATE-RQ primitive of ``pdu``, or None when it is not a well-formed request."""
    if not pdu or pdu[0] != A_ASSOCIATE_RQ_TYPE:
        return None
    try:
        rq = A_ASSOCIATE_RQ()
        rq.decode(pdu)
        return rq.to_primitive()
    except Exception:  # malformed: the server answers it with an A-ABORT
        return None


class _QuietDecodeFailures(logging.Filter):
    """pynetdicom logs a traceback at ERROR for every UID it cannot decode as ASCII, then
    raises the error :func:`parse_request` handles (the caller gets an A-ABORT)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], UnicodeDecodeError))


logging.getLogger("pynetdicom.utils").addFilter(_QuietDecodeFailures())


#: Stands in the transfer syntax list of a proposed presentation context that has none
#: (PS3.8 9.3.2.2 asks for at least one): no transfer syntax has this UID, so negotiation
#: answers that context "transfer syntaxes not supported" (result 4, PS3.8 9.3.3.2) and goes on
#: with the others, where pynetdicom's negotiation would fail and leave the caller unanswered.
NO_TRANSFER_SYNTAX = IMPLEMENTATION_CLASS_UID

#: Stands for the abstract syntax of a proposed presentation context that has no Abstract
#: Syntax sub-item (PS3.8 9.3.2.2 asks for exactly one): no SOP class has this UID, so the
#: context is answered "abstract syntax not supported" (result 3, PS3.8 9.3.3.2).
NO_ABSTRACT_SYNTAX = IMPLEMENTATION_CLASS_UID


def mend_contexts(request: A_ASSOCIATE) -> None:
    """Give every proposed context without an abstract syntax :data:`NO_ABSTRACT_SYNTAX` and
    every one without a transfer syntax :data:`NO_TRANSFER_SYNTAX`, so that negotiation answers
    each of them with a result instead of failing on the whole request."""
    for cx in request.presentation_context_definition_list:
        if not cx.abstract_syntax:
            log.warning("presentation context %s proposes no abstract syntax: rejecting it", cx.context_id)
            cx.abstract_syntax = UID(NO_ABSTRACT_SYNTAX)
        if not cx.transfer_syntax:
            log.warning("presentation context %s (%s) proposes no transfer syntax: rejecting it", cx.context_id, cx.abstract_syntax)
            cx.add_transfer_syntax(UID(NO_TRANSFER_SYNTAX))


def mend_requested(event: Any) -> None:
    """EVT_REQUESTED (pynetdicom's path): :func:`mend_contexts` before negotiation."""
    primitive = getattr(event.assoc.requestor, "primitive", None)
    if primitive is not None:
        mend_contexts(primitive)


def storage_only(request: A_ASSOCIATE, other_services: frozenset[str]) -> bool:
    """Whether this association is for sending instances (and echo) only: it proposes none of
    ``other_services`` (the non-storage SOP classes we support, e.g. query/retrieve), no role
    selection and no user identity. Senders such as DCMTK storescu propose every storage class
    they know; those we do not support are rejected in negotiation exactly as pynetdicom would."""
    contexts = request.presentation_context_definition_list
    if not contexts:
        return False
    for item in request.user_information:
        if isinstance(item, (SCP_SCU_RoleSelectionNegotiation, UserIdentityNegotiation)):
            return False
    return not any(str(cx.abstract_syntax) in other_services for cx in contexts)


def encode_response(command: int, sop_class: str | bytes, message_id: int, status: int, sop_instance: str | bytes = "",
                    comment: str = "") -> bytes:
    """A C-STORE-RSP or C-ECHO-RSP command set (PS3.7 9.3.1.2, 9.3.5.2)."""
    body = [
        implicit_element(0x00000002, uid_value(sop_class)),
        implicit_element(0x00000100, struct.pack("<H", command)),
        implicit_element(0x00000120, struct.pack("<H", message_id)),
        implicit_element(0x00000800, struct.pack("<H", NO_DATASET)),
        implicit_element(0x00000900, struct.pack("<H", status)),
    ]
    if comment and status:
        body.append(implicit_element(0x00000902, ascii_value(comment[:64])))
    if sop_instance:
        body.append(implicit_element(0x00001000, uid_value(sop_instance)))
    data = b"".join(body)
    return implicit_element(0x00000000, struct.pack("<I", len(data))) + data


def decode_command(data: bytes) -> dict[int, bytes]:
    """Raw values of a command set's elements by tag (implicit VR little endian)."""
    out: dict[int, bytes] = {}
    pos, n = 0, len(data)
    while pos + 8 <= n:
        group, elem, length = struct.unpack_from("<HHI", data, pos)
        pos += 8
        if pos + length > n:
            raise AbortAssociation(0x06, "command set element runs past its PDV")
        out[group << 16 | elem] = data[pos : pos + length]
        pos += length
    return out


def _us(values: dict[int, bytes], tag: int) -> int:
    raw = values.get(tag)
    if raw is None or len(raw) < 2:
        raise AbortAssociation(0x06, f"command element ({tag >> 16:04X},{tag & 0xFFFF:04X}) missing")
    return int(struct.unpack_from("<H", raw)[0])


def _str(values: dict[int, bytes], tag: int) -> str:
    return values.get(tag, b"").rstrip(b"\0 ").decode("ascii", "replace")


def p_data_pdu(context_id: int, command: bytes) -> bytes:
    """One P-DATA-TF holding a whole command set in one PDV (control header: command, last)."""
    item = struct.pack(">IBB", len(command) + 2, context_id, 0x03) + command
    return struct.pack(">BBI", P_DATA_TF_TYPE, 0, len(item)) + item


def abort_pdu(source: int, reason: int) -> bytes:
    """A-ABORT (PS3.8 9.3.8): source 0 = service user, 2 = service provider."""
    return struct.pack(">BBIBBBB", A_ABORT_TYPE, 0, 4, 0, 0, source, reason)


RELEASE_RP = struct.pack(">BBII", A_RELEASE_RP_TYPE, 0, 4, 0)


@dataclass
class StorageAcceptor:
    """Serves one storage-only association on a connected socket."""

    ae_title: str
    supported: list[PresentationContext]
    max_pdu_size: int
    network_timeout: float
    begin: BeginFunction

    def accept_pdu(self, request: A_ASSOCIATE, supported: list[PresentationContext] | None = None,
                   extra: Sequence[Any] = ()) -> tuple[bytes, dict[int, tuple[str, str]]]:
        """The A-ASSOCIATE-AC for ``request`` and the accepted contexts {id: (abstract, transfer)};
        ``supported`` narrows what may be accepted (the caller's services, :mod:`publisher.dicom.access`);
        ``extra``: more User Information sub-items (e.g. SOP Class Extended Negotiation, PS3.7 D.3.3.5)."""
        offered = self.supported if supported is None else supported
        mend_contexts(request)
        results, _roles = negotiate_as_acceptor(request.presentation_context_definition_list, offered, None)
        accepted = {
            int(cx.context_id): (str(cx.abstract_syntax), str(cx.transfer_syntax[0]))
            for cx in results
            if cx.result == 0x00 and cx.context_id is not None
        }
        ac = A_ASSOCIATE()
        ac.application_context_name = request.application_context_name
        ac.calling_ae_title = request.calling_ae_title
        ac.called_ae_title = request.called_ae_title
        ac.result = 0x00
        ac.result_source = 0x01
        ac.presentation_context_definition_results_list = results
        ml = MaximumLengthNotification()
        ml.maximum_length_received = self.max_pdu_size
        impl = ImplementationClassUIDNotification()
        impl.implementation_class_uid = UID(IMPLEMENTATION_CLASS_UID)
        ver = ImplementationVersionNameNotification()
        ver.implementation_version_name = IMPLEMENTATION_VERSION_NAME
        ac.user_information = [ml, impl, ver, *extra]
        pdu = A_ASSOCIATE_AC()
        pdu.from_primitive(ac)
        return pdu.encode(), accepted

    def serve(self, sock: socket.socket, request: A_ASSOCIATE, request_length: int, address: str,
              supported: list[PresentationContext] | None = None) -> None:
        """Consume the peeked A-ASSOCIATE-RQ, accept (only ``supported`` contexts, when given),
        and answer DIMSE messages until release."""
        calling = str(request.calling_ae_title).strip()
        sock.settimeout(self.network_timeout or None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        read_exact(sock, memoryview(bytearray(request_length)))  # drop the request we peeked
        ac, accepted = self.accept_pdu(request, supported)
        sock.sendall(ac)
        try:
            self._run(sock, accepted, calling, address)
        except AbortAssociation as exc:
            log.warning("aborting association from %s at %s: %s", calling, address, exc)
            try:
                sock.sendall(abort_pdu(2, exc.reason))
            except OSError:
                pass
        except (ConnectionError, TimeoutError, OSError) as exc:
            log.info("association from %s at %s ended: %s", calling, address, exc)
        except Exception:  # never a silent close: whatever went wrong, the peer learns it ended
            log.exception("aborting association from %s at %s after an unexpected error", calling, address)
            try:
                sock.sendall(abort_pdu(2, 0x00))
            except OSError:
                pass

    def _run(self, sock: socket.socket, accepted: dict[int, tuple[str, str]], calling: str, address: str) -> None:
        receipt: list[Receiving] = []  # the instance in flight, discarded if we leave early
        try:
            self._loop(sock, accepted, calling, address, receipt)
        finally:
            for r in receipt:
                r.discard()

    def _loop(
        self, sock: socket.socket, accepted: dict[int, tuple[str, str]], calling: str, address: str, receipt: list[Receiving]
    ) -> None:
        header = bytearray(6)
        limit = self.max_pdu_size or HARD_PDU_LIMIT
        command = bytearray()
        context_id: int | None = None
        values: dict[int, bytes] | None = None
        while True:
            read_exact(sock, memoryview(header))
            pdu_type, length = header[0], struct.unpack_from(">I", header, 2)[0]
            if pdu_type == A_RELEASE_RQ_TYPE:
                read_exact(sock, memoryview(bytearray(length)))
                sock.sendall(RELEASE_RP)
                return
            if pdu_type == A_ABORT_TYPE:
                log.info("association from %s at %s aborted by the peer", calling, address)
                return
            if pdu_type != P_DATA_TF_TYPE:
                raise AbortAssociation(0x02, f"unexpected PDU type 0x{pdu_type:02X}")
            for pcid, control, fragment in pdv_items(sock, length, limit, accepted):
                if context_id is not None and pcid != context_id:
                    raise AbortAssociation(0x05, "PDVs of one message on two presentation contexts")
                context_id = pcid
                last = bool(control & 0x02)
                if control & 0x01:  # command fragment
                    if values is not None:
                        raise AbortAssociation(0x05, "a command fragment after the command ended")
                    command += fragment
                    if last:
                        values = decode_command(bytes(command))
                        if _us(values, 0x00000800) == NO_DATASET:
                            self._answer(sock, accepted[pcid], pcid, values, None)
                            command.clear()
                            values, context_id = None, None
                        elif _us(values, 0x00000100) == C_STORE_RQ:
                            abstract, transfer = accepted[pcid]
                            receipt.append(self._begin(abstract, _str(values, 0x00001000), transfer, calling, address))
                else:
                    if values is None:
                        raise AbortAssociation(0x05, "a data fragment before its command")
                    if receipt:
                        try:
                            receipt[0].write(fragment)  # body is a new buffer per PDU: no copy needed
                        except Exception as exc:
                            log.exception("receiving %s failed", _str(values, 0x00001000))
                            receipt[0].discard()
                            receipt[0] = Failed(f"processing failure: {exc.__class__.__name__}")
                    if last:
                        current = receipt.pop() if receipt else None
                        self._answer(sock, accepted[pcid], pcid, values, current)
                        command.clear()
                        values, context_id = None, None

    def _begin(self, abstract: str, sop_instance: str, transfer: str, calling: str, address: str) -> Receiving:
        """Start receiving one instance; whatever goes wrong, the C-STORE still gets a status."""
        try:
            return self.begin(abstract, sop_instance, transfer, calling, address)
        except Exception as exc:
            log.exception("cannot receive %s", sop_instance)
            return Failed(f"processing failure: {exc.__class__.__name__}")

    def _answer(
        self,
        sock: socket.socket,
        context: tuple[str, str],
        pcid: int,
        values: dict[int, bytes],
        current: Receiving | None,
    ) -> None:
        field = _us(values, 0x00000100)
        message_id = _us(values, 0x00000110)
        abstract, transfer = context
        if field == C_ECHO_RQ:
            rsp = encode_response(C_ECHO_RSP, VERIFICATION, message_id, 0x0000)
        elif field == C_STORE_RQ:
            if current is None:
                raise AbortAssociation(0x06, "C-STORE-RQ without a data set")
            sop_instance = values.get(0x00001000, b"")
            try:
                status, comment = current.finish()
            except Exception as exc:  # never leave the requestor without an answer
                log.exception("storing %s failed", _str(values, 0x00001000))
                current.discard()
                status, comment = 0xA700, f"processing failure: {exc.__class__.__name__}"
            rsp = encode_response(C_STORE_RSP, values.get(0x00000002) or abstract, message_id, status, sop_instance, comment)
        else:
            raise AbortAssociation(0x02, f"DIMSE command 0x{field:04X} on a storage association")
        sock.sendall(p_data_pdu(pcid, rsp))


class Failed:
    """An instance that cannot be received: its data is dropped, the answer is 0xA700."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def write(self, fragment: bytes | memoryview) -> None:
        pass

    def finish(self) -> tuple[int, str]:
        return 0xA700, self.reason

    def discard(self) -> None:
        pass


def pdv_items(sock: socket.socket, length: int, limit: int, accepted: Mapping[int, object]) -> Iterator[tuple[int, int, memoryview]]:
    """The PDV items of one P-DATA-TF PDU whose header (``length``) was read: (presentation
    context ID, message control header, fragment) each (PS3.8 9.3.5 and E.2). The PDU is read
    whole into a new buffer (so a fragment needs no copy); a PDU over ``limit`` (our maximum PDU
    length counts PDV bytes, the PDU adds item headers), a truncated or overlong item, or an item
    on a context not accepted is an A-ABORT."""
    if length > limit + 6:
        raise AbortAssociation(0x06, f"P-DATA-TF of {length} bytes exceeds our maximum PDU size {limit}")
    body = bytearray(length)
    read_exact(sock, memoryview(body))
    pos = 0
    while pos < length:
        if pos + 6 > length:
            raise AbortAssociation(0x06, "truncated PDV item")
        item_length, pcid, control = struct.unpack_from(">IBB", body, pos)
        end = pos + 4 + item_length
        if item_length < 2 or end > length:
            raise AbortAssociation(0x06, "PDV item length out of range")
        if pcid not in accepted:
            raise AbortAssociation(0x06, f"PDV on presentation context {pcid}, which was not accepted")
        yield pcid, control, memoryview(body)[pos + 6 : end]
        pos = end
