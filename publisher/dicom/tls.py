"""DICOM TLS for associations we request (PS3.15 Annex B, Basic TLS Secure Transport).

A remote with ``tls = true`` is reached over TLS: the server certificate is verified against
``dicom.tls_ca_file`` (or the system store) and our certificate ``dicom.tls_cert_file`` /
``dicom.tls_key_file`` is presented when configured.
"""

from __future__ import annotations

import ssl

from publisher.config import DicomSettings, RemoteAE


def client_context(settings: DicomSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.tls_ca_file or None)
    if settings.tls_cert_file:
        ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file or None)
    return ctx


def tls_args(remote: RemoteAE, settings: DicomSettings) -> tuple[ssl.SSLContext, str] | None:
    """pynetdicom's ``tls_args`` for an association with ``remote`` (None: plain TCP)."""
    if not remote.tls:
        return None
    return client_context(settings), remote.host
