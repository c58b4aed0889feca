"""Media Creation Management SCP (PS3.4 Annex S): a PACS orders discs over DICOM.

- N-CREATE (S.3.2) stores a media creation request (PS3.3 C.22.1 attributes) and answers with
  its Execution Status IDLE. As S.3.2.1.3 note 1 advises, the referenced instances are not
  looked for yet; only the request's own attributes are checked: a missing Referenced SOP
  Sequence is 0120H "Missing attribute", an empty one 0121H "Missing attribute value", a value
  outside its enumerated or allowed range (Number of Copies below 1, Request Priority not HIGH,
  MED or LOW, a YES/NO flag with another value...) 0106H "Invalid attribute value"; a second
  N-CREATE of one SOP Instance UID is 0111H "Duplicate SOP Instance". No warning status is sent
  (S.3.2.1.3: "Warning statuses shall not be returned").
- N-ACTION (S.3.3) type 1 Initiate: the instances the archive lacks are fetched from the
  configured remotes (C-FIND IMAGE level by SOP Instance UID, then the QR SCU's retrieve), the
  rest reported in the Failed SOP Sequence, and a disc job is queued; a second Initiate is
  A510H. Type 2 Cancel: C201H when the discs are made, C202H when mastering cannot be
  interrupted, C203H when the request already failed or the robot refused. An unknown SOP
  Instance is 0112H, another action 0123H "No such action".
- N-GET (S.3.4) returns Execution Status, Execution Status Info, Total Number of Pieces of Media
  Created, Failed SOP Sequence, Referenced Storage Media Sequence and the request's attributes;
  asked for an attribute outside the module, it answers the others with warning 0001H.

The requests are kept by the jobs room (:class:`MediaOrders`, given by the service), so this
module writes no row itself (docs/architecture.md, section 3).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid
from pynetdicom import evt
from pynetdicom.dimse_primitives import N_ACTION, N_CREATE, N_GET

from publisher.archive import lookup
from publisher.archive.ingest import Archive
from publisher.archive.query.keys import Level
from publisher.config import DicomSettings, RemoteAE
from publisher.dicom.qr_scu import RemoteError, RetrieveSelection, find, retrieve
from publisher.dicom.sop_classes import MEDIA_CREATION_MANAGEMENT

log = logging.getLogger(__name__)

SUCCESS = 0x0000
INVALID_ATTRIBUTE_VALUE = 0x0106
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP_INSTANCE = 0x0111
NO_SUCH_SOP_INSTANCE = 0x0112
MISSING_ATTRIBUTE = 0x0120
MISSING_ATTRIBUTE_VALUE = 0x0121
NO_SUCH_ACTION = 0x0123
INITIATE_ALREADY = 0xA510  # PS3.4 S.3.3.1.2.1
ALREADY_COMPLETED = 0xC201  # PS3.4 S.3.3.1.3.1
CANNOT_INTERRUPT = 0xC202
CANCELLATION_DENIED = 0xC203
#: N-GET warning: "Requested optional Attributes are not supported" (PS3.4 S.3.4.1.3).
OPTIONAL_NOT_SUPPORTED = 0x0001
#: Failure Reasons in the Failed SOP Sequence (PS3.4 S.3.4; codes of C.4.2.1.4 / J.3.3.1).
NO_SUCH_OBJECT_INSTANCE = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119

#: Enumerated values of the N-CREATE attributes we check (PS3.3 C.22.1).
ENUMERATED: dict[str, frozenset[str]] = {
    "RequestPriority": frozenset({"HIGH", "MED", "LOW"}),
    "IncludeNonDICOMObjects": frozenset({"NO", "FOR_PHYSICIAN", "FOR_PATIENT", "FOR_TEACHING", "FOR_RESEARCH"}),
    "IncludeDisplayApplication": frozenset({"NO", "YES"}),
    "PreserveCompositeInstancesAfterMediaCreation": frozenset({"NO", "YES"}),
    "LabelUsingInformationExtractedFromInstances": frozenset({"NO", "YES"}),
    "AllowMediaSplitting": frozenset({"NO", "YES"}),
    "AllowLossyCompression": frozenset({"NO", "YES"}),
}
#: Text attributes of the request kept and returned by N-GET as received.
TEXTS = ("LabelText", "LabelStyleSelection", "BarcodeValue", "BarcodeSymbology", "MediaDisposition",
         "StorageMediaFileSetID", "StorageMediaFileSetUID", "MediaApplicationProfile")
#: Every attribute an N-GET may ask for (PS3.3 C.22.1 and SOP Common); another is not supported.
KNOWN: frozenset[str] = frozenset({
    "SOPClassUID", "SOPInstanceUID", "SpecificCharacterSet", "ReferencedSOPSequence", "NumberOfCopies",
    *ENUMERATED, *TEXTS, "ExecutionStatus", "ExecutionStatusInfo", "TotalNumberOfPiecesOfMediaCreated",
    "FailedSOPSequence", "ReferencedStorageMediaSequence"})


class OrderView(Protocol):
    """A stored request as N-GET reports it."""

    @property
    def refs(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def attributes(self) -> dict[str, Any]: ...
    @property
    def failed(self) -> tuple[tuple[str, str, int], ...]: ...
    @property
    def discs_made(self) -> int: ...
    @property
    def file_sets(self) -> tuple[str, ...]: ...
    @property
    def execution_status(self) -> str: ...
    @property
    def execution_status_info(self) -> str: ...


class MediaOrders(Protocol):
    """Where requests are kept (:class:`publisher.jobs.media_requests.MediaOrderBook`)."""

    def create(self, uid: str, calling_ae: str, refs: Sequence[tuple[str, str]], attributes: dict[str, Any]) -> bool: ...
    def get(self, uid: str) -> OrderView | None: ...
    def initiate(self, uid: str) -> str: ...
    def initiated(self) -> list[str]: ...
    def queue_job(self, uid: str, held: Sequence[str], failed: Sequence[tuple[str, str, int]], *, copies: int,
                  comment: str, error: str = "") -> int | None: ...
    def cancel(self, uid: str) -> tuple[str, int | None] | None: ...


def parse_request(ds: Dataset) -> tuple[int, list[tuple[str, str]], dict[str, Any]]:
    """(status, Referenced SOP Sequence, other attributes) of an N-CREATE (PS3.4 S.3.2.1.1)."""
    if "ReferencedSOPSequence" not in ds:
        return MISSING_ATTRIBUTE, [], {}
    refs = [(str(i.get("ReferencedSOPClassUID", "")), str(i.get("ReferencedSOPInstanceUID", ""))) for i in ds.ReferencedSOPSequence]
    if not refs:
        return MISSING_ATTRIBUTE_VALUE, [], {}
    if any(not c or not i for c, i in refs):
        return MISSING_ATTRIBUTE_VALUE, [], {}
    attrs: dict[str, Any] = {}
    copies = ds.get("NumberOfCopies")
    if copies is not None and copies != "":
        if int(copies) < 1:
            return INVALID_ATTRIBUTE_VALUE, [], {}
        attrs["NumberOfCopies"] = int(copies)
    for keyword, allowed in ENUMERATED.items():
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        if str(value).strip().upper() not in allowed:
            return INVALID_ATTRIBUTE_VALUE, [], {}
        attrs[keyword] = str(value).strip().upper()
    for keyword in TEXTS:
        if ds.get(keyword) not in (None, ""):
            attrs[keyword] = str(ds.get(keyword))
    return SUCCESS, refs, attrs


def attributes_of(uid: str, view: OrderView) -> Dataset:
    """Every attribute N-GET can return (PS3.4 S.3.4.1.1; PS3.3 C.22.1)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"  # texts are kept decoded; sent back in UTF-8 (PS3.4 S.3.4.2)
    ds.SOPClassUID = MEDIA_CREATION_MANAGEMENT
    ds.SOPInstanceUID = uid
    ds.ReferencedSOPSequence = DicomSequence([_ref(c, i) for c, i in view.refs])
    for keyword, value in view.attributes.items():
        setattr(ds, keyword, value)
    ds.ExecutionStatus = view.execution_status
    ds.ExecutionStatusInfo = view.execution_status_info
    ds.TotalNumberOfPiecesOfMediaCreated = view.discs_made
    failed = []
    for c, i, reason in view.failed:
        item = _ref(c, i)
        item.FailureReason = reason
        failed.append(item)
    ds.FailedSOPSequence = DicomSequence(failed)
    media = []
    for file_set_id in view.file_sets:
        item = Dataset()
        item.StorageMediaFileSetID = file_set_id
        media.append(item)
    ds.ReferencedStorageMediaSequence = DicomSequence(media)
    return ds


def _ref(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item


class MediaCreationHandler:
    """EVT_N_CREATE, EVT_N_ACTION and EVT_N_GET of the Media Creation Management SOP Class."""

    def __init__(self, orders: MediaOrders, archive: Archive, settings: DicomSettings,
                 remotes: Callable[[], Sequence[RemoteAE]], cancel_burn: Callable[[int], bool] | None = None) -> None:
        self.orders, self.archive, self.settings, self.remotes = orders, archive, settings, remotes
        self.cancel_burn = cancel_burn

    def resume(self) -> None:
        """Requests initiated before a restart whose job was not made yet: fetched again."""
        for uid in self.orders.initiated():
            self._start(uid)

    def on_create(self, event: evt.Event) -> tuple[int, Dataset | None]:
        """N-CREATE (PS3.4 S.3.2.1.3)."""
        req = cast(N_CREATE, event.request)
        status, refs, attrs = parse_request(event.attribute_list)
        if status != SUCCESS:
            return status, None
        uid = str(req.AffectedSOPInstanceUID or generate_uid())
        if not self.orders.create(uid, str(event.assoc.requestor.ae_title).strip(), refs, attrs):
            return DUPLICATE_SOP_INSTANCE, None
        view = self.orders.get(uid)
        assert view is not None
        ds = attributes_of(uid, view)
        if req.AffectedSOPInstanceUID is None:
            ds.AffectedSOPInstanceUID = uid  # pynetdicom puts it in the response (PS3.7 10.1.5)
        return SUCCESS, ds

    def on_action(self, event: evt.Event) -> tuple[int, Dataset | None]:
        """N-ACTION Initiate (1) and Cancel (2) (PS3.4 S.3.3.1)."""
        req = cast(N_ACTION, event.request)
        uid = str(req.RequestedSOPInstanceUID)
        if req.ActionTypeID == 1:
            outcome = self.orders.initiate(uid)
            if outcome == "unknown":
                return NO_SUCH_SOP_INSTANCE, None
            if outcome == "again":
                return INITIATE_ALREADY, None
            self._start(uid)
            return SUCCESS, None
        if req.ActionTypeID == 2:
            return self._cancel(uid), None
        return NO_SUCH_ACTION, None

    def _cancel(self, uid: str) -> int:
        result = self.orders.cancel(uid)
        if result is None:
            return NO_SUCH_SOP_INSTANCE
        outcome, job_id = result
        if outcome == "burning":
            stopped = job_id is not None and self.cancel_burn is not None and self.cancel_burn(job_id)
            return SUCCESS if stopped else CANCELLATION_DENIED
        return {"cancelled": SUCCESS, "completed": ALREADY_COMPLETED, "in-progress": CANNOT_INTERRUPT}.get(
            outcome, CANCELLATION_DENIED)

    def on_get(self, event: evt.Event) -> tuple[int, Dataset | None]:
        """N-GET (PS3.4 S.3.4.1.3): the attributes asked for, or all with none listed."""
        req = cast(N_GET, event.request)
        uid = str(req.RequestedSOPInstanceUID)
        view = self.orders.get(uid)
        if view is None:
            return NO_SUCH_SOP_INSTANCE, None
        ds = attributes_of(uid, view)
        wanted = event.attribute_identifiers
        if not wanted:
            return SUCCESS, ds
        out = Dataset()
        for tag in wanted:
            if tag in ds:
                out[tag] = ds[tag]
        unknown = [t for t in wanted if keyword_for_tag(t) not in KNOWN]
        return (OPTIONAL_NOT_SUPPORTED if unknown else SUCCESS), out

    def _start(self, uid: str) -> None:
        threading.Thread(target=self._fulfil, args=(uid,), name=f"media-{uid[-12:]}", daemon=True).start()

    def _fulfil(self, uid: str) -> None:
        """Fetch what we lack, then queue the disc job (PS3.4 S.3.3.1.2.3)."""
        try:
            view = self.orders.get(uid)
            if view is None:
                return
            refs = list(view.refs)
            self._fetch_missing([i for _, i in refs])
            rows = lookup.stored_instances(self.archive.db, [i for _, i in refs])
            held, failed = [], []
            for c, i in refs:
                row = rows.get(i)
                if row is None or not (self.archive.root / Path(row.path)).is_file():
                    failed.append((c, i, NO_SUCH_OBJECT_INSTANCE))
                elif row.sop_class_uid != c:
                    failed.append((c, i, CLASS_INSTANCE_CONFLICT))
                else:
                    held.append(i)
            label = str(view.attributes.get("LabelText", ""))
            self.orders.queue_job(uid, held, failed, copies=int(view.attributes.get("NumberOfCopies", 1)), comment=label)
        except Exception as exc:  # the request must end failed, not stay pending for ever
            log.exception("media creation request %s failed", uid)
            self.orders.queue_job(uid, [], [], copies=1, comment="", error=f"{exc.__class__.__name__}: {exc}")

    def _fetch_missing(self, uids: Sequence[str]) -> None:
        missing = set(uids) - lookup.present_instances(self.archive.db, list(uids))
        for remote in self.remotes():
            if not missing:
                return
            series: dict[tuple[str, str], None] = {}
            try:
                for uid in sorted(missing):
                    for ds in find(self.settings, remote, Level.IMAGE, {"SOPInstanceUID": uid},
                                   ("StudyInstanceUID", "SeriesInstanceUID")):
                        series[(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))] = None
                if series:
                    report = retrieve(self.settings, remote, RetrieveSelection(series=tuple(series)), self.archive)
                    log.info("media creation: %s", report.summary())
            except RemoteError as exc:
                log.warning("media creation: %s: %s", remote.ae_title, exc)
            missing -= lookup.present_instances(self.archive.db, sorted(missing))


def action_dispatch(handlers: dict[str, Callable[[evt.Event], tuple[int, Dataset | None]]]) -> Callable[[evt.Event], tuple[int, Dataset | None]]:
    """One EVT_N_ACTION handler for several SOP classes (pynetdicom binds one per event)."""
    def dispatch(event: evt.Event) -> tuple[int, Dataset | None]:
        handler = handlers.get(str(cast(N_ACTION, event.request).RequestedSOPClassUID))
        return handler(event) if handler is not None else (0x0118, None)  # No such SOP Class
    return dispatch
