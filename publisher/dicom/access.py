"""Who may associate with us, and what each caller may do once associated.

Callers are calling AE titles, optionally pinned to an IP address (``dicom.allowed_callers``),
each with the services it may use (store, echo, commitment, find, move, get, media). Refusals:

- a caller not on the list: A-ASSOCIATE-RJ rejected-permanent, source DICOM UL service-user,
  reason "calling-AE-title-not-recognized" (1, 1, 3); "called-AE-title-not-recognized"
  (1, 1, 7) when a caller addresses another AE title than ours (PS3.8 9.3.4);
- a service the caller may not use: its presentation contexts are rejected with result
  "abstract-syntax-not-supported (provider rejection)" (3) in the A-ASSOCIATE-AC (PS3.8
  9.3.3.2), the same answer a caller gets for a SOP class we do not offer at all;
  no DIMSE message can then be sent on them;
- a C-STORE on a storage context accepted only so that a caller may C-GET (the caller acts as
  Storage SCP on it, PS3.7 D.3.3.4, PS3.4 C.4.3): status 0124H "Refused: Not Authorized"
  (PS3.7 Annex C).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.presentation import PresentationContext

from publisher.config import AllowedCaller
from publisher.dicom.sop_classes import MEDIA_CREATION_MANAGEMENT, QUERY_RETRIEVE_SOP_CLASSES, STORAGE_COMMITMENT_PUSH, VERIFICATION

log = logging.getLogger(__name__)

REJECT_PERMANENT = 0x01
SOURCE_SERVICE_USER = 0x01
CALLING_AE_NOT_RECOGNIZED = 0x03
CALLED_AE_NOT_RECOGNIZED = 0x07
#: C-STORE status of a caller that may not store (PS3.7 Annex C).
NOT_AUTHORIZED = 0x0124

#: The service each non-storage SOP class belongs to; every other SOP class we offer is storage.
SERVICE_OF: dict[str, str] = {
    VERIFICATION: "echo",
    STORAGE_COMMITMENT_PUSH: "commitment",
    MEDIA_CREATION_MANAGEMENT: "media",
    **{find: "find" for _m, find, _mv, _g in QUERY_RETRIEVE_SOP_CLASSES},
    **{move: "move" for _m, _f, move, _g in QUERY_RETRIEVE_SOP_CLASSES},
    **{get: "get" for _m, _f, _mv, get in QUERY_RETRIEVE_SOP_CLASSES},
}


def service_of(abstract_syntax: str) -> str:
    return SERVICE_OF.get(abstract_syntax, "store")


def permitted(contexts: Iterable[PresentationContext], services: frozenset[str]) -> list[PresentationContext]:
    """The supported contexts a caller with ``services`` may have accepted. Storage contexts
    also serve a caller that may C-GET: it receives the C-STORE sub-operations on them."""
    def allowed(cx: PresentationContext) -> bool:
        service = service_of(str(cx.abstract_syntax))
        return service in services or (service == "store" and "get" in services)

    return [cx for cx in contexts if allowed(cx)]


@dataclass
class AccessPolicy:
    """Who may associate and do what. ``allowed`` is replaced whole (:meth:`replace_callers`)
    when an administrator edits the allowed callers: the next association request sees the new
    list, associations already up keep what they were given."""

    our_ae_title: str
    promiscuous: bool
    allowed: tuple[AllowedCaller, ...]
    promiscuous_services: frozenset[str] = frozenset()

    def replace_callers(self, allowed: tuple[AllowedCaller, ...]) -> None:
        self.allowed = tuple(allowed)  # one assignment: a reader sees the old tuple or the new

    def check(self, calling_ae: str, called_ae: str, address: str) -> int | None:
        """None when the caller may associate, else the A-ASSOCIATE-RJ reason."""
        if called_ae.strip() != self.our_ae_title:
            return CALLED_AE_NOT_RECOGNIZED
        if self.promiscuous or self._entries(calling_ae, address):
            return None
        return CALLING_AE_NOT_RECOGNIZED

    def _entries(self, calling_ae: str, address: str) -> list[AllowedCaller]:
        calling = calling_ae.strip()
        return [e for e in self.allowed if e.ae_title == calling and (e.host is None or e.host == address)]

    def services(self, calling_ae: str, address: str) -> frozenset[str]:
        """What this caller may do: the union of its matching entries (an entry pinned to the
        caller's address may grant more than the AE title's general one); in promiscuous mode
        at least ``promiscuous_services``."""
        granted = frozenset().union(*(e.services for e in self._entries(calling_ae, address)))
        return granted | self.promiscuous_services if self.promiscuous else granted

    def on_requested(self, event: evt.Event) -> None:
        """EVT_REQUESTED handler: reject before negotiation when the caller is not allowed, and
        leave only the contexts of its services to negotiate."""
        assoc = event.assoc
        rq = assoc.requestor.primitive
        assert rq is not None  # EVT_REQUESTED fires once the A-ASSOCIATE-RQ is decoded
        calling = str(rq.calling_ae_title)
        called = str(rq.called_ae_title)
        address = str(assoc.requestor.address)
        reason = self.check(calling, called, address)
        if reason is None:
            assoc.acceptor.supported_contexts = permitted(assoc.acceptor.supported_contexts, self.services(calling, address))
            return
        log.warning("rejecting association from %s at %s to %s (reason %d)", calling, address, called, reason)
        assoc.acse.send_reject(REJECT_PERMANENT, SOURCE_SERVICE_USER, reason)
        evt.trigger(assoc, evt.EVT_REJECTED, {})
        assoc.kill()

    def guard_store(self, handler: Callable[[evt.Event], Any]) -> Callable[[evt.Event], Any]:
        """An EVT_C_STORE handler that answers 0124H for a caller that may not store (one that
        was given storage contexts to receive its C-GET) and else calls ``handler``."""

        def guarded(event: evt.Event) -> Any:
            requestor = event.assoc.requestor
            if "store" not in self.services(str(requestor.ae_title), str(requestor.address)):
                log.warning("refused a C-STORE from %s at %s: not allowed to store", requestor.ae_title, requestor.address)
                status = Dataset()
                status.Status = NOT_AUTHORIZED
                status.ErrorComment = "this calling AE title may not store here"
                return status
            return handler(event)

        return guarded
