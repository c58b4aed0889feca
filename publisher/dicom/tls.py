"""DICOM TLS (PS3.15 Annex B): associations we request, and our TLS listening port.

Requestor: a remote with ``tls = true`` is reached over TLS. Its certificate is verified against
``dicom.tls_ca_file`` (or the system store), including its host name or IP address, and our
certificate ``dicom.tls_cert_file`` / ``dicom.tls_key_file`` is presented when configured.

Acceptor: with ``dicom.tls_port`` set, :func:`server_context` is the context of that port: our
certificate and key, and - with ``dicom.tls_require_client_cert`` (default) - callers must
present a certificate signed by ``dicom.tls_ca_file``. Both sides use TLS 1.2 or later with
Python's default cipher suites ((EC)DHE with AES-GCM, ChaCha20 or AES-CBC), which include those of
the BCP 195 profiles DCMTK 3.6.7 uses by default.

A file that is missing, unreadable or unusable is a :class:`~publisher.config.ConfigError`
naming it.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from publisher.config import ConfigError, DicomSettings, RemoteAE

log = logging.getLogger(__name__)

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


def _no_password() -> bytes:
    """Encrypted private keys are not supported: never prompt on the terminal of a service."""
    return b""


def _readable(setting: str, path: str) -> None:
    try:
        with open(path, "rb") as f:
            f.read(1)
    except FileNotFoundError:
        raise ConfigError(f"dicom.{setting} {path}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"dicom.{setting} {path}: cannot be read ({exc.strerror or exc})") from None


def _reason(exc: ssl.SSLError) -> str:
    return str(exc.reason) if exc.reason else str(exc)


def load_chain(ctx: ssl.SSLContext, cert_file: str, key_file: str) -> None:
    """Our certificate and private key into ``ctx``; a :class:`ConfigError` naming the file at fault."""
    _readable("tls_cert_file", cert_file)
    if key_file:
        _readable("tls_key_file", key_file)
    try:
        ctx.load_cert_chain(cert_file, key_file or None, password=_no_password)
        return
    except ssl.SSLError as exc:
        error = exc
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.load_verify_locations(cafile=cert_file)
    except ssl.SSLError as exc:
        raise ConfigError(f"dicom.tls_cert_file {cert_file}: not a PEM certificate ({_reason(exc)})") from None
    if "KEY_VALUES_MISMATCH" in str(error) or "values mismatch" in str(error):
        raise ConfigError(f"dicom.tls_key_file {key_file}: the private key does not match the certificate in {cert_file}") from None
    raise ConfigError(
        f"dicom.tls_key_file {key_file or cert_file}: not a usable PEM private key (encrypted keys are not supported): {_reason(error)}"
    ) from None


def load_ca(ctx: ssl.SSLContext, ca_file: str) -> None:
    _readable("tls_ca_file", ca_file)
    try:
        ctx.load_verify_locations(cafile=ca_file)
    except ssl.SSLError as exc:
        raise ConfigError(f"dicom.tls_ca_file {ca_file}: no PEM certificate in it ({_reason(exc)})") from None


class _ReportingSocket(ssl.SSLSocket):
    """An SSL socket that logs why a handshake failed (pynetdicom only says it could not connect)."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except ssl.SSLCertVerificationError as exc:
            log.error("TLS: the certificate of %s was refused: %s (is it signed by a CA in dicom.tls_ca_file?)",
                      self.server_hostname, exc.verify_message or _reason(exc))
            raise
        except ssl.SSLError as exc:
            log.error("TLS handshake with %s failed: %s", self.server_hostname, _reason(exc))
            raise


def client_context(settings: DicomSettings) -> ssl.SSLContext:
    """The context of associations we request over TLS: the peer's certificate is verified."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = MINIMUM_VERSION
    if settings.tls_ca_file:
        load_ca(ctx, settings.tls_ca_file)
    if settings.tls_cert_file:
        load_chain(ctx, settings.tls_cert_file, settings.tls_key_file)
    ctx.sslsocket_class = _ReportingSocket
    return ctx


def server_context(settings: DicomSettings) -> ssl.SSLContext:
    """The context of our TLS port (``dicom.tls_port``)."""
    if not (settings.tls_cert_file and settings.tls_key_file):
        raise ConfigError("dicom.tls_port is set: dicom.tls_cert_file and dicom.tls_key_file (our certificate) are needed")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = MINIMUM_VERSION
    load_chain(ctx, settings.tls_cert_file, settings.tls_key_file)
    if settings.tls_ca_file:
        load_ca(ctx, settings.tls_ca_file)
    if settings.tls_require_client_cert:
        if not settings.tls_ca_file:
            raise ConfigError("dicom.tls_require_client_cert: dicom.tls_ca_file (the CA that signs callers' certificates) is needed")
        ctx.verify_mode = ssl.CERT_REQUIRED
    elif settings.tls_ca_file:
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def tls_args(remote: RemoteAE, settings: DicomSettings) -> tuple[ssl.SSLContext, str] | None:
    """pynetdicom's ``tls_args`` for an association with ``remote`` (None: plain TCP)."""
    if not remote.tls:
        return None
    return client_context(settings), remote.host


def peer_subject(sock: Any) -> str:
    """The commonName of the verified client certificate on ``sock`` ('' when none)."""
    try:
        cert = sock.getpeercert()
    except (OSError, ValueError, AttributeError):
        return ""
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return ""
