"""A lean acceptor for query-only associations: C-FIND answered at the speed of the index.

pynetdicom encodes each pending C-FIND response as Python objects, queues it to its DUL thread
and polls; with the response identifiers built as Datasets that is 80 % of a 10,000-match
C-FIND (issue 19). An association whose requestor proposes only C-FIND SOP classes and
Verification, with no role selection or user identity, is served here instead, as the storage
path does for C-STORE (:mod:`publisher.dicom.storage_association`, whose negotiation and PDU
helpers this reuses): one thread, blocking reads, responses encoded from the index rows
(:mod:`publisher.dicom.find_encoding`) and sent in few ``sendall`` calls. The matching, the
statuses and the answers are :class:`~publisher.dicom.qr_scp.FindHandler`'s, as on
pynetdicom's path.

Between two responses the socket is polled for a C-CANCEL-RQ (PS3.7 9.1.2.1.5, 9.3.2.3): once
it arrives the search stops and the last response says Cancel (FE00).

References: PS3.8 9.3.5 (P-DATA-TF), Annex E (message control header); PS3.7 9.1.2 (C-FIND),
9.3.2 (its messages), E.1 (command set encoding); PS3.4 C.5.1.1.2 (extended negotiation).
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import struct
from collections.abc import Iterator
from dataclasses import dataclass, replace
from io import BytesIO
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom.dsutils import decode
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    MaximumLengthNotification,
    SCP_SCU_RoleSelectionNegotiation,
    SOPClassExtendedNegotiation,
    UserIdentityNegotiation,
)

from publisher.dicom.qr_models import CLASSES, MODEL_BY_SOP_CLASS
from publisher.dicom.qr_scp import FIND_EXTENDED, PENDING, UNABLE_TO_PROCESS, FindHandler
from publisher.dicom.sop_classes import VERIFICATION
from publisher.dicom.storage_association import (
    A_ABORT_TYPE,
    A_RELEASE_RQ_TYPE,
    C_ECHO_RQ,
    C_ECHO_RSP,
    HARD_PDU_LIMIT,
    NO_DATASET,
    P_DATA_TF_TYPE,
    RELEASE_RP,
    AbortAssociation,
    Receiving,
    StorageAcceptor,
    _us,
    decode_command,
    encode_response,
    pdv_items,
    read_exact,
)
from publisher.dicom.find_encoding import ResponsePlan
from publisher.dicomio.encode import ascii_value, implicit_element, uid_value

log = logging.getLogger(__name__)

C_FIND_RQ, C_FIND_RSP, C_CANCEL_RQ = 0x0020, 0x8020, 0x0FFF
HAS_DATASET = 0x0001
#: Bytes of responses gathered before one ``sendall``.
SEND_CHUNK = 64 * 1024
FIND_CLASSES = frozenset(c.find for c in CLASSES.values())


def find_only(request: A_ASSOCIATE) -> bool:
    """Whether this association proposes C-FIND (and Verification) only, without role
    selection or user identity."""
    contexts = request.presentation_context_definition_list
    if not contexts:
        return False
    if any(isinstance(i, (SCP_SCU_RoleSelectionNegotiation, UserIdentityNegotiation)) for i in request.user_information):
        return False
    return all(str(cx.abstract_syntax) in FIND_CLASSES | {VERIFICATION} for cx in contexts)


def find_response(sop_class: str | bytes, message_id: int, status: int, dataset: bool, comment: str = "") -> bytes:
    """A C-FIND-RSP command set (PS3.7 9.3.2.2)."""
    body = [
        implicit_element(0x00000002, uid_value(sop_class)),
        implicit_element(0x00000100, struct.pack("<H", C_FIND_RSP)),
        implicit_element(0x00000120, struct.pack("<H", message_id)),
        implicit_element(0x00000800, struct.pack("<H", HAS_DATASET if dataset else NO_DATASET)),
        implicit_element(0x00000900, struct.pack("<H", status)),
    ]
    if comment:
        body.append(implicit_element(0x00000902, ascii_value(comment[:64])))
    data = b"".join(body)
    return implicit_element(0x00000000, struct.pack("<I", len(data))) + data


def pdus(pcid: int, payload: bytes, command: bool, max_length: int) -> Iterator[bytes]:
    """``payload`` as P-DATA-TF PDUs of one PDV each, none longer than the peer's maximum
    (``max_length``, 0 = unlimited; PS3.8 9.3.5, D.1)."""
    step = max(1, max_length - 6) if max_length else max(1, len(payload))
    for start in range(0, max(1, len(payload)), step):
        chunk = payload[start : start + step]
        control = (0x01 if command else 0x00) | (0x02 if start + step >= len(payload) else 0x00)
        yield struct.pack(">BBIIBB", P_DATA_TF_TYPE, 0, len(chunk) + 6, len(chunk) + 2, pcid, control) + chunk


class _Released(Exception):
    """The peer released or aborted the association."""


class _Channel:
    """Messages in (PDVs gathered, PS3.8 9.3.5) and responses out (gathered, then sent)."""

    def __init__(self, sock: socket.socket, accepted: dict[int, tuple[str, str]], limit: int, peer_max: int) -> None:
        self.sock, self.accepted, self.limit, self.peer_max = sock, accepted, limit, peer_max
        self._pdvs: list[tuple[int, int, memoryview]] = []
        self._out: list[bytes] = []
        self._size = 0
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)

    def readable(self) -> bool:
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        return bool(self._pdvs) or bool(self._poll.poll(0))

    def _next_pdv(self) -> tuple[int, int, memoryview]:
        while not self._pdvs:
            header = bytearray(6)
            read_exact(self.sock, memoryview(header))
            pdu_type, length = header[0], struct.unpack_from(">I", header, 2)[0]
            if pdu_type == A_RELEASE_RQ_TYPE:
                read_exact(self.sock, memoryview(bytearray(length)))
                self.flush()
                self.sock.sendall(RELEASE_RP)
                raise _Released("released")
            if pdu_type == A_ABORT_TYPE:
                raise _Released("aborted by the peer")
            if pdu_type != P_DATA_TF_TYPE:
                raise AbortAssociation(0x02, f"unexpected PDU type 0x{pdu_type:02X}")
            self._pdvs.extend(pdv_items(self.sock, length, self.limit, self.accepted))
        return self._pdvs.pop(0)

    def message(self) -> tuple[int, dict[int, bytes], bytes | None]:
        """The next DIMSE message: (context id, command values, data set bytes or None)."""
        command, data = bytearray(), bytearray()
        values: dict[int, bytes] | None = None
        context: int | None = None
        while True:
            pcid, control, fragment = self._next_pdv()
            if context is not None and pcid != context:
                raise AbortAssociation(0x05, "PDVs of one message on two presentation contexts")
            context = pcid
            if control & 0x01:
                if values is not None:
                    raise AbortAssociation(0x05, "a command fragment after the command ended")
                command += fragment
                if control & 0x02:
                    values = decode_command(bytes(command))
                    if _us(values, 0x00000800) == NO_DATASET:
                        return pcid, values, None
            else:
                if values is None:
                    raise AbortAssociation(0x05, "a data fragment before its command")
                data += fragment
                if control & 0x02:
                    return pcid, values, bytes(data)

    def send(self, pcid: int, command: bytes, data: bytes | None = None) -> None:
        for pdu in pdus(pcid, command, True, self.peer_max):
            self._out.append(pdu)
            self._size += len(pdu)
        if data is not None:
            for pdu in pdus(pcid, data, False, self.peer_max):
                self._out.append(pdu)
                self._size += len(pdu)
        if self._size >= SEND_CHUNK:
            self.flush()

    def send_pending(self, command_pdus: bytes, pcid: int, data: Any) -> None:
        """A pending response: its command's PDUs, made once per C-FIND, and its identifier."""
        self._out.append(command_pdus)
        self._size += len(command_pdus)
        for pdu in pdus(pcid, data, False, self.peer_max):
            self._out.append(pdu)
            self._size += len(pdu)
        if self._size >= SEND_CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._out:
            self.sock.sendall(b"".join(self._out))
            self._out, self._size = [], 0


def _no_storage(*_args: str) -> Receiving:
    raise AbortAssociation(0x02, "C-STORE on a query association")


@dataclass
class FindAcceptor(StorageAcceptor):
    """Serves one query-only association on a connected socket (see the module docstring)."""

    handler: FindHandler | None = None
    #: The association being served (a per-association copy of the acceptor holds it).
    request: A_ASSOCIATE | None = None

    @classmethod
    def make(cls, ae_title: str, supported: list[Any], max_pdu_size: int, network_timeout: float, handler: FindHandler) -> "FindAcceptor":
        return cls(ae_title, supported, max_pdu_size, network_timeout, _no_storage, handler)

    def serve(self, sock: socket.socket, request: A_ASSOCIATE, request_length: int, address: str,
              supported: list[Any] | None = None) -> None:
        StorageAcceptor.serve(replace(self, request=request), sock, request, request_length, address, supported)

    def _extended(self) -> tuple[list[SOPClassExtendedNegotiation], set[str]]:
        """Our answers to the C-FIND extended negotiation items (PS3.4 C.5.1.1.2), as
        :func:`~publisher.dicom.qr_scp.handle_sop_extended` gives them, and the SOP classes
        on which combined date-time matching was agreed."""
        answers, combined = [], set()
        for item in self.request.user_information if self.request else []:
            if isinstance(item, SOPClassExtendedNegotiation):
                uid, info = str(item.sop_class_uid), item.service_class_application_information or b""
                if uid in FIND_CLASSES and info:
                    answer = SOPClassExtendedNegotiation()
                    answer.sop_class_uid = UID(uid)
                    answer.service_class_application_information = FIND_EXTENDED[: len(info)]
                    answers.append(answer)
                    if len(info) > 1 and info[1] == 1:
                        combined.add(uid)
        return answers, combined

    def accept_pdu(self, request: A_ASSOCIATE, supported: list[Any] | None = None,
                   extra: Any = ()) -> tuple[bytes, dict[int, tuple[str, str]]]:
        return StorageAcceptor.accept_pdu(self, request, supported, [*extra, *self._extended()[0]])

    def _run(self, sock: socket.socket, accepted: dict[int, tuple[str, str]], calling: str, address: str) -> None:
        peer_max = next((int(i.maximum_length_received or 0) for i in (self.request.user_information if self.request else [])
                         if isinstance(i, MaximumLengthNotification)), 0)
        channel = _Channel(sock, accepted, self.max_pdu_size or HARD_PDU_LIMIT, peer_max)
        combined = self._extended()[1]
        try:
            while True:
                pcid, values, data = channel.message()
                field, message_id = _us(values, 0x00000100), _us(values, 0x00000110)
                if field == C_ECHO_RQ:
                    channel.send(pcid, encode_response(C_ECHO_RSP, VERIFICATION, message_id, 0x0000))
                elif field == C_FIND_RQ and data is not None:
                    self._find(channel, pcid, values, data, combined)
                elif field != C_CANCEL_RQ:  # a C-CANCEL after the last response: nothing to stop
                    raise AbortAssociation(0x02, f"DIMSE command 0x{field:04X} on a query association")
                channel.flush()
        except _Released as exc:
            log.debug("association from %s at %s %s", calling, address, exc)

    def _find(self, channel: _Channel, pcid: int, values: dict[int, bytes], data: bytes, combined: set[str]) -> None:
        """Answer one C-FIND-RQ: pending responses, then the final one (PS3.7 9.3.2.2)."""
        assert self.handler is not None
        abstract, transfer = channel.accepted[pcid]
        model = MODEL_BY_SOP_CLASS.get(abstract)
        if model is None or abstract not in FIND_CLASSES:
            raise AbortAssociation(0x06, f"C-FIND-RQ on presentation context {pcid} ({abstract})")
        ts = UID(transfer)
        implicit, little = ts.is_implicit_VR, ts.is_little_endian
        message_id = _us(values, 0x00000110)
        sop_class = values.get(0x00000002) or abstract
        cancelled = False

        def is_cancelled() -> bool:
            nonlocal cancelled
            while not cancelled and channel.readable():
                _pcid, more, _data = channel.message()
                if _us(more, 0x00000100) != C_CANCEL_RQ:
                    raise AbortAssociation(0x02, "a second request while a C-FIND is pending")
                cancelled = _us(more, 0x00000120) == message_id
            return cancelled

        def respond(identifier: Dataset, query: Any) -> Any:
            return ResponsePlan(identifier, query.level, model, self.ae_title, implicit, little).encode

        status, comment = 0x0000, ""
        try:
            answers = self.handler.answers(lambda: decode(BytesIO(data), implicit, little), model, abstract in combined,
                                           is_cancelled, respond)
            pending = b"".join(pdus(pcid, find_response(sop_class, message_id, PENDING, True), True, channel.peer_max))
            for result, identifier in answers:
                if result == PENDING:
                    channel.send_pending(pending, pcid, identifier)
                    continue
                if isinstance(result, Dataset):
                    status, comment = int(result.Status), str(result.get("ErrorComment", ""))
                else:
                    status = int(result)
                break
            answers.close()  # the search's cursor with it
        except (_Released, AbortAssociation, OSError):
            raise
        except Exception as exc:  # never leave the requestor without a final response
            log.exception("C-FIND failed")
            status, comment = UNABLE_TO_PROCESS, f"processing failure: {exc.__class__.__name__}"
        channel.send(pcid, find_response(sop_class, message_id, status, False, comment))
        channel.flush()
