"""Syslog for audit messages: RFC 5424 messages (PS3.15 A.6, A.7), framed per transport.

- ``tls``: RFC 5425 (PS3.15 A.6, SYSLOG-TLS): TLS 1.2 or later, each message as ``MSG-LEN SP
  SYSLOG-MSG`` (octet counting, RFC 5425 4.3); our certificate presented when configured
  (IHE ATNA's mutual node authentication);
- ``tcp``: the same octet-counted framing without TLS (RFC 6587 3.4.1), for a repository on the
  same host or a trusted segment;
- ``udp``: RFC 5426 (PS3.15 A.7, SYSLOG-UDP): one message per datagram, no framing; a lost
  datagram goes unnoticed, so the queue cannot tell it was not received.

The header (RFC 5424 6.2): PRI = facility 10 (security/authorization) * 8 + severity 5 (notice)
for a success or 4 (warning) for a failure (PS3.15 A.6); VERSION 1; TIMESTAMP of the event;
HOSTNAME; APP-NAME our AuditSourceID; PROCID; MSGID "IHE+RFC-3881" (IHE ITI TF-2 3.20.4.2);
no structured data; MSG the XML, UTF-8 with a BOM (RFC 5424 6.4).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import select
import socket
import ssl
from dataclasses import dataclass

FACILITY_AUTH = 10
NOTICE, WARNING = 5, 4
MSGID = "IHE+RFC-3881"
BOM = b"\xef\xbb\xbf"
#: RFC 5424 6.2: header fields are PRINTUSASCII (33-126), with these lengths at most.
_PRINTABLE = re.compile(r"[^\x21-\x7e]")


class SyslogError(OSError):
    """The repository is unreachable or the connection broke; the message was not handed over."""


def _field(value: str, limit: int) -> str:
    return _PRINTABLE.sub("_", value)[:limit] or "-"


def _timestamp(at: dt.datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def format_message(xml: bytes, at: dt.datetime, *, hostname: str, app_name: str, failure: bool = False,
                   procid: str | None = None) -> bytes:
    """One RFC 5424 SYSLOG-MSG carrying ``xml`` (already UTF-8)."""
    pri = FACILITY_AUTH * 8 + (WARNING if failure else NOTICE)
    header = (f"<{pri}>1 {_timestamp(at)} {_field(hostname, 255)} {_field(app_name, 48)} "
              f"{_field(procid or str(os.getpid()), 128)} {MSGID} -")
    return header.encode("ascii") + b" " + BOM + xml


def octet_counted(message: bytes) -> bytes:
    """RFC 5425 4.3 / RFC 6587 3.4.1 framing: the length in decimal, a space, the message."""
    return str(len(message)).encode("ascii") + b" " + message


@dataclass(frozen=True)
class Endpoint:
    """Where the repository listens and how to reach it (``[audit]`` settings)."""

    host: str
    port: int
    transport: str = "tls"
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    check_hostname: bool = True
    timeout: float = 10.0


def tls_context(e: Endpoint) -> ssl.SSLContext:
    """TLS 1.2 or later (RFC 5425 5, PS3.15 A.6); the repository's certificate verified against
    ``ca_file`` (or the system store); ours presented when configured."""
    ctx = ssl.create_default_context(cafile=e.ca_file or None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = e.check_hostname
    if e.cert_file:
        ctx.load_cert_chain(e.cert_file, e.key_file or None)
    return ctx


class Sender:
    """A connection to the repository, opened when needed and again after it broke."""

    def __init__(self, endpoint: Endpoint) -> None:
        if endpoint.transport not in ("tls", "tcp", "udp"):
            raise ValueError(f"audit transport {endpoint.transport!r}: one of tls, tcp, udp")
        self.endpoint = endpoint
        self._sock: socket.socket | None = None
        self._tls = tls_context(endpoint) if endpoint.transport == "tls" else None

    def _connect(self) -> socket.socket:
        e = self.endpoint
        try:
            if e.transport == "udp":
                family, kind, proto, _, address = socket.getaddrinfo(e.host, e.port, type=socket.SOCK_DGRAM)[0]
                sock = socket.socket(family, kind, proto)
                sock.connect(address)  # a connected socket: an ICMP port unreachable surfaces as an error
                return sock
            sock = socket.create_connection((e.host, e.port), timeout=e.timeout)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=e.host)
            return sock
        except (OSError, ssl.SSLError) as exc:
            raise SyslogError(f"audit repository {e.host}:{e.port} ({e.transport}): {exc}") from exc

    def _alive(self, sock: socket.socket) -> bool:
        """A stream the repository closed (it never sends us data) reads as ready: reconnect
        instead of writing into a connection that is gone."""
        if self.endpoint.transport == "udp":
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        return not readable

    def send(self, message: bytes) -> None:
        """Hand one SYSLOG-MSG to the repository, or raise :class:`SyslogError`."""
        if self._sock is not None and not self._alive(self._sock):
            self.close()
        if self._sock is None:
            self._sock = self._connect()
        data = message if self.endpoint.transport == "udp" else octet_counted(message)
        try:
            self._sock.sendall(data)
        except (OSError, ssl.SSLError) as exc:
            self.close()
            raise SyslogError(f"audit repository {self.endpoint.host}:{self.endpoint.port}: {exc}") from exc

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
