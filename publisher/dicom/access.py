"""Who may associate with us: calling AE titles, optionally pinned to an IP address.

Refusals use the A-ASSOCIATE-RJ reasons of PS3.8 9.3.4: rejected-permanent, source DICOM UL
service-user, reason "calling-AE-title-not-recognized" (1, 1, 3); "called-AE-title-not-recognized"
(1, 1, 7) when a caller addresses another AE title than ours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pynetdicom import evt

from publisher.config import AllowedCaller

log = logging.getLogger(__name__)

REJECT_PERMANENT = 0x01
SOURCE_SERVICE_USER = 0x01
CALLING_AE_NOT_RECOGNIZED = 0x03
CALLED_AE_NOT_RECOGNIZED = 0x07


@dataclass(frozen=True)
class AccessPolicy:
    our_ae_title: str
    promiscuous: bool
    allowed: tuple[AllowedCaller, ...]

    def check(self, calling_ae: str, called_ae: str, address: str) -> int | None:
        """None when the caller may associate, else the A-ASSOCIATE-RJ reason."""
        if called_ae.strip() != self.our_ae_title:
            return CALLED_AE_NOT_RECOGNIZED
        if self.promiscuous:
            return None
        calling = calling_ae.strip()
        for entry in self.allowed:
            if entry.ae_title == calling and (entry.host is None or entry.host == address):
                return None
        return CALLING_AE_NOT_RECOGNIZED

    def on_requested(self, event: evt.Event) -> None:
        """EVT_REQUESTED handler: reject before negotiation when the caller is not allowed."""
        assoc = event.assoc
        rq = assoc.requestor.primitive
        assert rq is not None  # EVT_REQUESTED fires once the A-ASSOCIATE-RQ is decoded
        calling = str(rq.calling_ae_title)
        called = str(rq.called_ae_title)
        address = str(assoc.requestor.address)
        reason = self.check(calling, called, address)
        if reason is None:
            return
        log.warning("rejecting association from %s at %s to %s (reason %d)", calling, address, called, reason)
        assoc.acse.send_reject(REJECT_PERMANENT, SOURCE_SERVICE_USER, reason)
        evt.trigger(assoc, evt.EVT_REJECTED, {})
        assoc.kill()
