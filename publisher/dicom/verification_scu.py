"""Verification SCU (PS3.4 Annex A): C-ECHO a configured remote."""

from __future__ import annotations

import time
from dataclasses import dataclass

from pynetdicom import build_context

from publisher.config import DicomSettings, RemoteAE
from publisher.dicom.sop_classes import VERIFICATION
from publisher.dicom.storage_scu import associate


@dataclass(frozen=True)
class EchoResult:
    remote: RemoteAE
    ok: bool
    detail: str
    seconds: float


def echo(settings: DicomSettings, remote: RemoteAE) -> EchoResult:
    """Associate, send one C-ECHO, release; ``detail`` says what went wrong when not ``ok``."""
    start = time.monotonic()
    try:
        assoc = associate(settings, remote, [build_context(VERIFICATION)])
    except (OSError, ValueError) as exc:
        return EchoResult(remote, False, f"cannot connect: {exc}", time.monotonic() - start)
    if not assoc.is_established:
        why = "association rejected" if assoc.is_rejected else "no association (connection refused or timed out)"
        return EchoResult(remote, False, why, time.monotonic() - start)
    try:
        status = assoc.send_c_echo()
    finally:
        if assoc.is_established:
            assoc.release()
    code = getattr(status, "Status", None)
    elapsed = time.monotonic() - start
    if code == 0x0000:
        return EchoResult(remote, True, "success", elapsed)
    return EchoResult(remote, False, "no response" if code is None else f"status 0x{code:04X}", elapsed)
