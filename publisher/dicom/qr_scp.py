"""Query/Retrieve SCP: C-FIND, C-MOVE and C-GET handlers (PS3.4 Annex C) on the index.

One handler per DIMSE service, bound to pynetdicom events like the Storage SCP's:

- :class:`FindHandler` (``EVT_C_FIND``) answers from the SQL index (never from files) and streams
  one pending response per match (PS3.4 C.4.1.2.3); a C-CANCEL stops it between matches with
  status FE00 (PS3.7 9.1.2.1.5).
- :class:`MoveHandler` (``EVT_C_MOVE``) sends the matched instances over a new association to a
  destination from the configured remotes (unknown destination: A801, PS3.4 C.4.2.1.4); pending
  responses carry the sub-operation counts and the final one the Failed SOP Instance UID List.
- :class:`GetHandler` (``EVT_C_GET``) sends them back on the requesting association (PS3.4 C.4.3).

Each instance goes in its stored transfer syntax when the receiver accepted it, else
decompressed (see :mod:`publisher.dicom.storage_scu`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, cast

from pydicom.dataset import Dataset
from pynetdicom import _config, build_context, evt

from publisher.archive.query.keys import Level, Query, QueryError
from publisher.archive.query.search import search
from publisher.config import DicomSettings, RemoteAE
from publisher.db.session import Database
from publisher.dicom.qr_models import (
    CLASSES,
    MODEL_BY_SOP_CLASS,
    Model,
    query_from_identifier,
    response_identifier,
    retrieve_query,
)
from publisher.dicom.sop_classes import VERIFICATION
from publisher.dicom.storage_scu import (
    InstanceRef,
    NotSendable,
    accepted_syntaxes,
    placeholder,
    prepare,
    storage_contexts,
)
from publisher.dicom.tls import tls_args

log = logging.getLogger(__name__)
T = TypeVar("T")

#: pynetdicom formats every response identifier for its debug log (``pretty_dataset``) even
#: when debug logging is off: 5 % of a 10,000-match C-FIND (issue 19). Off, requests too.
_config.LOG_RESPONSE_IDENTIFIERS = False
_config.LOG_REQUEST_IDENTIFIERS = False

PENDING = 0xFF00
CANCEL = 0xFE00
IDENTIFIER_DOES_NOT_MATCH = 0xA900
UNABLE_TO_PROCESS = 0xC000
MOVE_DESTINATION_UNKNOWN = 0xA801


def _failure(status: int, comment: str) -> Dataset:
    ds = Dataset()
    ds.Status = status
    ds.ErrorComment = comment[:64]
    return ds


def _model(event: evt.Event) -> Model:
    return MODEL_BY_SOP_CLASS[str(event.request.AffectedSOPClassUID)]


class FindHandler:
    """EVT_C_FIND for the Patient Root, Study Root and Patient/Study Only models; its
    :meth:`answers` also serve the lean path (:mod:`publisher.dicom.find_association`)."""

    def __init__(self, db: Database, ae_title: str, batch: int = 200) -> None:
        self.db = db
        self.ae_title = ae_title
        self.batch = batch

    def answers(
        self,
        read_identifier: Callable[[], Dataset],
        model: Model,
        combine: bool,
        cancelled: Callable[[], bool],
        respond: Callable[[Dataset, Query], Callable[[Mapping[str, Any]], T]],
    ) -> Generator[tuple[int | Dataset, T | None], None, None]:
        """(status, response identifier) per match, then CANCEL or a failure when one ends it;
        ``respond(identifier, query)`` gives the function that makes a response of a row."""
        try:
            identifier = read_identifier()
            query = query_from_identifier(identifier, model)
            if combine:
                query = replace(query, combine_datetime=True)
        except QueryError as exc:
            log.warning("C-FIND refused: %s", exc)
            yield _failure(IDENTIFIER_DOES_NOT_MATCH, str(exc)), None
            return
        except Exception as exc:  # undecodable identifier
            log.warning("C-FIND: cannot read the identifier: %s", exc)
            yield _failure(UNABLE_TO_PROCESS, f"cannot read the identifier: {exc}"), None
            return
        make = respond(identifier, query)
        cancelled = _latched(cancelled)
        try:
            for row in search(self.db, query, batch=self.batch, cancelled=cancelled):
                if cancelled():
                    yield CANCEL, None
                    return
                yield PENDING, make(row)
        except QueryError as exc:  # a value (date, time) that is not valid for its VR
            yield _failure(UNABLE_TO_PROCESS, str(exc)), None
            return
        if cancelled():
            yield CANCEL, None

    def __call__(self, event: evt.Event) -> Iterator[tuple[int | Dataset, Dataset | None]]:
        model = _model(event)

        def respond(identifier: Dataset, query: Query) -> Callable[[Mapping[str, Any]], Dataset]:
            return lambda row: response_identifier(identifier, query.level, model, row, retrieve_ae_title=self.ae_title)

        yield from self.answers(lambda: event.identifier, model, combined_datetime(event), lambda: bool(event.is_cancelled), respond)


def _latched(cancelled: Callable[[], bool]) -> Callable[[], bool]:
    """``cancelled`` that stays true once it was: pynetdicom's ``Event.is_cancelled`` answers
    True only once per C-CANCEL (it consumes the request), and both the search (between batches)
    and the answer (the final FE00, PS3.7 9.1.2.1.5) must see it."""
    seen = False

    def check() -> bool:
        nonlocal seen
        seen = seen or cancelled()
        return seen

    return check


def instances_for(db: Database, archive_root: Path, query: Query) -> list[InstanceRef]:
    """The archived instances an IMAGE-level ``query`` names, in series / instance order."""
    assert query.level == Level.IMAGE
    return [
        InstanceRef(row["SOPInstanceUID"], row["SOPClassUID"], row["AvailableTransferSyntaxUID"], archive_root / row["path"])
        for row in search(db, query, batch=1000)
    ]


def _retrieve_refs(db: Database, archive_root: Path, event: evt.Event) -> list[InstanceRef]:
    return instances_for(db, archive_root, retrieve_query(event.identifier, _model(event)))


def _sendable(ref: InstanceRef, accepted: dict[str, set[str]]) -> Dataset:
    """The dataset to yield for a sub-operation; a failing placeholder when it cannot be sent."""
    try:
        return prepare(ref, accepted)
    except NotSendable as exc:
        log.warning("sub-operation for %s fails: %s", ref.sop_instance_uid, exc)
        return placeholder(ref)


class MoveHandler:
    """EVT_C_MOVE: C-STORE sub-operations to a configured destination AE (PS3.4 C.4.2)."""

    def __init__(self, db: Database, archive_root: Path, settings: DicomSettings, remotes: Callable[[], Sequence[RemoteAE]]) -> None:
        self.db = db
        self.archive_root = archive_root
        self.settings = settings
        self.remotes = remotes

    def destination(self, ae_title: str) -> RemoteAE | None:
        return next((r for r in self.remotes() if r.ae_title == ae_title.strip()), None)

    def __call__(self, event: evt.Event) -> Iterator[Any]:
        dest_title = str(event.move_destination or "")
        remote = self.destination(dest_title)
        if remote is None:
            log.warning("C-MOVE from %s: unknown destination %r", event.assoc.requestor.ae_title, dest_title)
            yield None, None
            return
        try:
            refs = _retrieve_refs(self.db, self.archive_root, event)
            error = ""
        except QueryError as exc:
            refs, error = [], str(exc)
        except Exception as exc:
            refs, error = [], f"cannot read the identifier: {exc}"
        accepted: dict[str, set[str]] = {}

        def on_accepted(ev: evt.Event) -> None:
            accepted.update(accepted_syntaxes(ev.assoc.accepted_contexts))

        kwargs: dict[str, Any] = {
            "contexts": storage_contexts(refs) or [build_context(VERIFICATION)],
            "evt_handlers": [(evt.EVT_ACCEPTED, on_accepted)],
            "tls_args": tls_args(remote, self.settings),
        }
        yield remote.host, remote.port, {k: v for k, v in kwargs.items() if v is not None}
        if error:
            log.warning("C-MOVE from %s refused: %s", event.assoc.requestor.ae_title, error)
            yield 1  # the protocol needs one sub-operation to answer a failure
            yield _failure(IDENTIFIER_DOES_NOT_MATCH, error), Dataset()
            return
        yield len(refs)
        for ref in refs:
            if event.is_cancelled:
                yield CANCEL, None
                return
            yield PENDING, _sendable(ref, accepted)


class GetHandler:
    """EVT_C_GET: C-STORE sub-operations on the requesting association (PS3.4 C.4.3)."""

    def __init__(self, db: Database, archive_root: Path) -> None:
        self.db = db
        self.archive_root = archive_root

    def __call__(self, event: evt.Event) -> Iterator[Any]:
        try:
            refs = _retrieve_refs(self.db, self.archive_root, event)
        except Exception as exc:
            log.warning("C-GET from %s refused: %s", event.assoc.requestor.ae_title, exc)
            yield 1
            yield _failure(IDENTIFIER_DOES_NOT_MATCH, str(exc)), Dataset()
            return
        yield len(refs)
        accepted = accepted_syntaxes(cx for cx in event.assoc.accepted_contexts if cx.as_scu)
        for ref in refs:
            if event.is_cancelled:
                yield CANCEL, None
                return
            yield PENDING, _sendable(ref, accepted)


#: Our C-FIND extended negotiation answer (PS3.4 C.5.1.1.2): relational queries yes, combined
#: date-time matching yes, fuzzy semantic matching of names no, timezone adjustment no.
FIND_EXTENDED = b"\x01\x01\x00\x00"


#: Associations on which combined date-time range matching was agreed, per C-FIND SOP class.
_COMBINED_DATETIME: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def handle_sop_extended(event: evt.Event) -> dict[str, bytes]:
    """EVT_SOP_EXTENDED: answer the C-FIND SOP Class Extended Negotiation items, and remember
    whether the requestor asked for combined date-time matching (PS3.4 C.5.1.1.2 byte 2)."""
    finds = {c.find for c in CLASSES.values()}
    answer: dict[str, bytes] = {}
    for uid, info in cast("dict[str, bytes]", getattr(event, "app_info", {})).items():
        if str(uid) in finds and info:
            answer[str(uid)] = FIND_EXTENDED[: len(info)]
            if len(info) > 1 and info[1] == 1:
                _COMBINED_DATETIME.setdefault(event.assoc, set()).add(str(uid))
    return answer


def combined_datetime(event: evt.Event) -> bool:
    """Whether this C-FIND matches Date and Time range pairs as one date-time range: only when
    negotiated (PS3.4 C.2.2.2.5.1); otherwise each is matched on its own."""
    return str(event.request.AffectedSOPClassUID) in _COMBINED_DATETIME.get(event.assoc, set())
