"""Association set-up that cannot be starved: connections waiting for their A-ASSOCIATE-RQ.

PS3.8 9.1.5 starts the ARTIM timer when a transport connection is accepted and stops it when
the A-ASSOCIATE-RQ has arrived; a connection whose timer expires is closed (state machine
action AA-2). Until its request is whole a connection is *pending*: :class:`SetupGate` watches
every pending connection from one thread with a selector (no thread, no association slot and
no CPU per connection), and only once the request is complete hands it to ``dispatch`` in a
thread of its own. At most ``per_address`` connections from one address may be pending; more
are refused at once.

A plain connection's request is only peeked at (``MSG_PEEK``, never consumed, so the lean
path or pynetdicom reads it as if nobody had looked): the socket's receive low-water mark
(``SO_RCVLOWAT``) is set to the bytes still missing, so the selector wakes only once they are
there, or the peer closed. On the TLS port the handshake runs here, non-blocking, and the
request is read (consumed) and handed on with the connection.

Refusals are graceful (PS3.8 9.3.4 A-ASSOCIATE-RJ, state Sta13): the request is read, the
A-ASSOCIATE-RJ sent, our side of the connection shut, and whatever the peer still sends is
read and dropped until it closes (or ``close_wait`` passes), so the peer reads the RJ rather
than a TCP reset, which is what closing a socket with unread data sends.
"""

from __future__ import annotations

import logging
import select
import selectors
import socket
import ssl
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: A-ASSOCIATE-RJ (result, source, reason), PS3.8 Table 9-21.
LIMIT_EXCEEDED = (0x02, 0x03, 0x02)  # transient; service provider (presentation); local limit exceeded
CONGESTION = (0x02, 0x03, 0x01)  # transient; service provider (presentation); temporary congestion
NO_REASON = (0x01, 0x02, 0x01)  # permanent; service provider (ACSE); no reason given

#: A request longer than this is refused (128 presentation contexts with ten transfer
#: syntaxes each take about 100 KB).
REQUEST_LIMIT = 256 * 1024


def reject_pdu(result: int, source: int, reason: int) -> bytes:
    """A-ASSOCIATE-RJ (PS3.8 9.3.4)."""
    return struct.pack(">BBIBBBB", 0x03, 0, 4, 0, result, source, reason)


Dispatch = Callable[[socket.socket, Any, bytes], None]


@dataclass
class _Entry:
    sock: socket.socket
    address: Any
    deadline: float
    state: str  # "handshake", "request" or "closing"
    buf: bytearray = field(default_factory=bytearray)
    want: int = 6

    @property
    def host(self) -> str:
        return str(self.address[0]) if isinstance(self.address, tuple) else str(self.address)


class SetupGate:
    """Pending connections of one or more listening ports (see the module docstring)."""

    def __init__(self, request_timeout: float, per_address: int, dispatch: Dispatch, *, close_wait: float = 5.0) -> None:
        self.request_timeout = request_timeout
        self.per_address = per_address
        self.dispatch = dispatch
        self.close_wait = close_wait
        self._sel = selectors.DefaultSelector()
        self._entries: dict[int, _Entry] = {}
        self._pending: Counter[str] = Counter()  # per host, pending (not closing) entries
        self._new: deque[_Entry] = deque()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="DicomSetupGate", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        for entry in list(self._entries.values()):
            self._close(entry)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- called from other threads -------------------------------------------------------------

    def add(self, sock: socket.socket, address: Any, tls: bool) -> None:
        """A connection just accepted (``tls``: an SSL socket whose handshake is still to do)."""
        sock.setblocking(False)
        self._queue(_Entry(sock, address, time.monotonic() + self.request_timeout, "handshake" if tls else "request"))

    def refuse(self, sock: socket.socket, pdu: bytes, unread: int = 0) -> None:
        """Send ``pdu`` (an A-ASSOCIATE-RJ) after reading the ``unread`` bytes of the request
        still queued, shut our side and drop what the peer sends until it closes."""
        try:
            sock.settimeout(self.close_wait)
            while unread > 0:
                chunk = sock.recv(min(unread, 65536))
                if not chunk:
                    break
                unread -= len(chunk)
            sock.sendall(pdu)
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except (OSError, ValueError):
            _close_quietly(sock)
            return
        self._queue(_Entry(sock, None, time.monotonic() + self.close_wait, "closing"))

    def _queue(self, entry: _Entry) -> None:
        with self._lock:
            self._new.append(entry)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # full (the loop is awake anyway) or closed (stopping)
            pass

    # -- the gate's own thread -----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopped:
            now = time.monotonic()
            nearest = min((e.deadline for e in self._entries.values()), default=now + 60.0)
            for key, _events in self._sel.select(max(0.0, nearest - now)):
                if key.data is None:
                    self._take_new()
                else:
                    try:
                        self._step(key.data)
                    except Exception:  # never lose the gate to one connection
                        log.exception("association set-up with %s failed", key.data.address)
                        self._close(key.data)
            self._expire(time.monotonic())

    def _take_new(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass
        with self._lock:
            new, self._new = list(self._new), deque()
        for entry in new:
            if entry.state != "closing":
                if self._pending[entry.host] >= self.per_address:
                    log.warning("refusing a connection from %s: %d connections from there are still waiting for their "
                                "association request (dicom.max_pending_per_address)", entry.host, self._pending[entry.host])
                    self._refuse_now(entry)
                    continue
                self._pending[entry.host] += 1
            if entry.state == "request":
                _set_lowat(entry.sock, entry.want)
            self._entries[entry.sock.fileno()] = entry
            self._sel.register(entry.sock, selectors.EVENT_READ, entry)

    def _refuse_now(self, entry: _Entry) -> None:
        """Over the per-address limit: A-ASSOCIATE-RJ at once (plain) or close (TLS, where no
        PDU can be sent before a handshake), then wait for the peer to close."""
        if isinstance(entry.sock, ssl.SSLSocket):
            _close_quietly(entry.sock)
            return
        try:
            entry.sock.send(reject_pdu(*CONGESTION))
            entry.sock.shutdown(socket.SHUT_WR)
        except OSError:
            _close_quietly(entry.sock)
            return
        entry.state, entry.deadline = "closing", time.monotonic() + self.close_wait
        self._entries[entry.sock.fileno()] = entry
        self._sel.register(entry.sock, selectors.EVENT_READ, entry)

    def _step(self, entry: _Entry) -> None:
        if entry.state == "closing":
            if not _drain(entry.sock):
                self._close(entry)
        elif entry.state == "handshake":
            self._handshake(entry)
        elif isinstance(entry.sock, ssl.SSLSocket):
            self._read_tls(entry)
        else:
            self._peek(entry)

    def _handshake(self, entry: _Entry) -> None:
        sock = entry.sock
        assert isinstance(sock, ssl.SSLSocket)
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self._sel.modify(sock, selectors.EVENT_READ, entry)
            return
        except ssl.SSLWantWriteError:
            self._sel.modify(sock, selectors.EVENT_WRITE, entry)
            return
        except ssl.SSLCertVerificationError as exc:
            log.warning("TLS: refused the certificate of %s: %s", entry.host, exc.verify_message or exc.reason)
            self._close(entry)
            return
        except (OSError, ValueError) as exc:  # ssl.SSLError, reset, a plain-TCP caller
            log.warning("TLS handshake with %s failed: %s", entry.host, getattr(exc, "reason", None) or exc)
            self._close(entry)
            return
        from publisher.dicom.tls import peer_subject

        log.info("TLS connection from %s (certificate %r, %s)", entry.host, peer_subject(sock), sock.version())
        entry.state = "request"
        self._sel.modify(sock, selectors.EVENT_READ, entry)
        self._read_tls(entry)

    def _read_tls(self, entry: _Entry) -> None:
        """Read (consume) the request from an SSL socket, as far as it has arrived."""
        while len(entry.buf) < entry.want:
            try:
                chunk = entry.sock.recv(entry.want - len(entry.buf))
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return
            except (OSError, ValueError):
                self._close(entry)
                return
            if not chunk:
                self._close(entry)
                return
            entry.buf += chunk
            if len(entry.buf) == 6 and not self._sized(entry):
                return
        self._hand_over(entry, bytes(entry.buf))

    def _peek(self, entry: _Entry) -> None:
        """Look at (never consume) what has arrived of the request of a plain socket."""
        try:
            data = entry.sock.recv(entry.want, socket.MSG_PEEK)
        except BlockingIOError:
            return
        except OSError:
            self._close(entry)
            return
        if len(data) < entry.want:
            if not data or _at_eof(entry.sock):
                self._close(entry)  # the peer closed before its request was whole
            return
        if entry.want == 6:
            entry.buf[:] = data
            if not self._sized(entry):
                return
            if len(data) < entry.want:
                _set_lowat(entry.sock, entry.want)
                return
        self._hand_over(entry, data[: entry.want])

    def _sized(self, entry: _Entry) -> bool:
        """The PDU header is in: how long the request is. False when it was refused."""
        length = struct.unpack_from(">I", entry.buf, 2)[0]
        entry.want = 6 + length
        if entry.want > REQUEST_LIMIT:
            log.warning("refusing a %d-byte association request from %s (at most %d)", entry.want, entry.host, REQUEST_LIMIT)
            self._release(entry)
            try:
                entry.sock.setblocking(True)
                entry.sock.settimeout(self.close_wait)
                entry.sock.sendall(reject_pdu(*NO_REASON))
                entry.sock.shutdown(socket.SHUT_WR)
                entry.sock.setblocking(False)
            except OSError:
                _close_quietly(entry.sock)
                return False
            entry.state, entry.deadline = "closing", time.monotonic() + self.close_wait
            self._entries[entry.sock.fileno()] = entry
            self._sel.register(entry.sock, selectors.EVENT_READ, entry)
            return False
        return True

    def _hand_over(self, entry: _Entry, request: bytes) -> None:
        self._release(entry)
        sock = entry.sock
        try:
            if not isinstance(sock, ssl.SSLSocket):
                _set_lowat(sock, 1)
            sock.setblocking(True)
        except OSError:
            _close_quietly(sock)
            return
        threading.Thread(target=self.dispatch, args=(sock, entry.address, request), name="DicomAssociation", daemon=True).start()

    def _release(self, entry: _Entry) -> None:
        """Forget ``entry`` here (its socket stays open)."""
        fd = entry.sock.fileno()
        if self._entries.pop(fd, None) is not None:
            try:
                self._sel.unregister(entry.sock)
            except (KeyError, ValueError):
                pass
        if entry.state != "closing" and self._pending[entry.host] > 0:
            self._pending[entry.host] -= 1
            if not self._pending[entry.host]:
                del self._pending[entry.host]

    def _close(self, entry: _Entry) -> None:
        self._release(entry)
        _drain(entry.sock)
        _close_quietly(entry.sock)

    def _expire(self, now: float) -> None:
        for entry in [e for e in self._entries.values() if e.deadline <= now]:
            if entry.state != "closing":
                log.info("closing the connection from %s: no whole association request within %g s (%d bytes arrived)",
                         entry.host, self.request_timeout, len(entry.buf))
            self._close(entry)


def _set_lowat(sock: socket.socket, n: int) -> None:
    """Wake the selector only once ``n`` bytes are queued (or the peer closed)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, max(1, n))
    except OSError:  # not supported: the selector wakes per arrival instead, still without polling
        pass


def _at_eof(sock: socket.socket) -> bool:
    """Whether the peer closed (or reset) the connection: why the selector woke with fewer
    bytes queued than the low-water mark."""
    p = select.poll()
    p.register(sock, select.POLLIN | select.POLLRDHUP)
    return any(ev & (select.POLLRDHUP | select.POLLHUP | select.POLLERR) for _fd, ev in p.poll(0))


def _drain(sock: socket.socket) -> bool:
    """Read and drop what is queued (non-blocking); False once the peer has closed."""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return False
    except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return True
    except (OSError, ValueError):
        return False


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


class Slots:
    """Association slots (``dicom.max_associations``), taken once a request has arrived and
    shared by every listening port and both storage paths."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.value = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.value >= self.limit:
                return False
            self.value += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.value -= 1
