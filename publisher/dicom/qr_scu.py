"""Query/Retrieve SCU: finding and fetching studies from a remote PACS (PS3.4 Annex C).

- :func:`find` runs a C-FIND at any level of any information model and yields the matches.
- :func:`retrieve` is what disc jobs call: enumerate a selection's instances at the remote
  (C-FIND down to IMAGE level, hierarchical keys only, so strict SCPs such as DCMTK dcmqrscp
  answer), skip those already in our index, fetch the rest by C-MOVE to our own Storage SCP or
  by C-GET, and return when every instance is in the archive and index - with a
  :class:`RetrieveReport` naming each instance that did not arrive and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from pydicom.dataset import Dataset
from pynetdicom import build_context, build_role, evt
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.transport import ThreadedAssociationServer

from publisher.archive import lookup
from publisher.archive.ingest import Archive, Provenance, StoreRefused
from publisher.archive.query.keys import Level
from publisher.config import DicomSettings, RemoteAE
from publisher.db.session import Database
from publisher.dicom.qr_models import CLASSES, LEVELS, Model
from publisher.dicom.sop_classes import UNCOMPRESSED_TRANSFER_SYNTAXES, storage_sop_class_uids, transfer_syntax_uids
from publisher.dicom.storage_scu import associate

log = logging.getLogger(__name__)

Method = Literal["move", "get"]


class RemoteError(RuntimeError):
    """The remote could not be reached or refused the request; the message says which."""


def find_remote(remotes: Sequence[RemoteAE], ae_title: str) -> RemoteAE:
    """The configured remote named ``ae_title`` (``dicom.remotes``)."""
    for r in remotes:
        if r.ae_title == ae_title:
            return r
    known = ", ".join(r.ae_title for r in remotes) or "none configured"
    raise RemoteError(f"no remote {ae_title!r} in dicom.remotes ({known})")


def identifier(level: Level, keys: Mapping[str, str], returns: Sequence[str] = ()) -> Dataset:
    """A C-FIND / C-MOVE identifier in UTF-8 (ISO_IR 192): an SCP returns the Specific Character
    Set of its answers only when the query names one, and DCMTK's convert to the query's."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.QueryRetrieveLevel = level.name
    for keyword in returns:
        setattr(ds, keyword, None)
    for keyword, value in keys.items():
        setattr(ds, keyword, value if value != "" else None)
    return ds


@contextmanager
def _association(settings: DicomSettings, remote: RemoteAE, contexts: list[Any], **kwargs: Any) -> Iterator[Association]:
    assoc = associate(settings, remote, contexts, **kwargs)
    if not assoc.is_established:
        raise RemoteError(f"{remote.ae_title} at {remote.host}:{remote.port} did not accept the association")
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


def find(
    settings: DicomSettings,
    remote: RemoteAE,
    level: Level,
    keys: Mapping[str, str],
    returns: Sequence[str] = (),
    model: Model = Model.STUDY_ROOT,
) -> Iterator[Dataset]:
    """C-FIND at ``remote``: the matches of ``keys`` (wildcards, ranges ...) with ``returns`` asked for."""
    if level not in LEVELS[model]:
        raise RemoteError(f"level {level.name} does not exist in the {model.value} information model")
    sop_class = CLASSES[model].find
    with _association(settings, remote, [build_context(sop_class)]) as assoc:
        for status, ds in assoc.send_c_find(identifier(level, keys, returns), sop_class):
            code = getattr(status, "Status", None)
            if code is None:
                raise RemoteError(f"{remote.ae_title}: C-FIND got no response (timeout or abort)")
            if code in (0xFF00, 0xFF01):
                if ds is not None:
                    yield ds
            elif code != 0x0000:
                comment = str(getattr(status, "ErrorComment", "") or "")
                raise RemoteError(f"{remote.ae_title}: C-FIND failed with status 0x{code:04X} {comment}".strip())


# -- retrieve ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetrieveSelection:
    """What to fetch: whole studies, and series each named with its study (PS3.4 C.4.2.2.1 needs
    the keys of the levels above in a hierarchical retrieve)."""

    studies: Sequence[str] = ()
    series: Sequence[tuple[str, str]] = ()  # (Study Instance UID, Series Instance UID)


@dataclass(frozen=True)
class RemoteInstance:
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str


@dataclass
class RetrieveReport:
    """The outcome of :func:`retrieve`; ``failed`` maps each missing SOP Instance UID to why."""

    remote: str
    method: str
    found: int = 0
    already_present: list[str] = field(default_factory=list)
    retrieved: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    requests: int = 0  # C-MOVE / C-GET requests sent

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"{self.found} instance(s) at {self.remote}: {len(self.already_present)} already here, "
            f"{len(self.retrieved)} retrieved by C-{self.method.upper()}, {len(self.failed)} failed"
        )


Progress = Callable[[int, int], None]  # (instances done, instances to fetch)


def enumerate_instances(settings: DicomSettings, remote: RemoteAE, selection: RetrieveSelection) -> list[RemoteInstance]:
    """Every instance of ``selection`` at the remote: C-FIND SERIES then IMAGE level, Study Root."""
    series: list[tuple[str, str]] = list(selection.series)
    for study_uid in selection.studies:
        for ds in find(settings, remote, Level.SERIES, {"StudyInstanceUID": study_uid}, ("SeriesInstanceUID",)):
            series.append((study_uid, str(ds.SeriesInstanceUID)))
    out: list[RemoteInstance] = []
    seen: set[str] = set()
    for study_uid, series_uid in dict.fromkeys(series):
        keys = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid}
        for ds in find(settings, remote, Level.IMAGE, keys, ("SOPInstanceUID", "SOPClassUID")):
            uid = str(ds.get("SOPInstanceUID", ""))
            if uid and uid not in seen:
                seen.add(uid)
                out.append(RemoteInstance(study_uid, series_uid, uid, str(ds.get("SOPClassUID", ""))))
    return out


def present_in_index(db: Database, uids: Sequence[str]) -> set[str]:
    """Which of ``uids`` the index already holds."""
    return lookup.present_instances(db, uids)


@dataclass(frozen=True)
class _Request:
    """One C-MOVE / C-GET identifier and the instances it should bring."""

    level: Level
    keys: dict[str, str]
    instances: tuple[RemoteInstance, ...]


def plan(missing: Sequence[RemoteInstance], all_instances: Sequence[RemoteInstance]) -> list[_Request]:
    """The fewest requests that fetch exactly ``missing``: a whole study or series when all of it
    is missing, else the missing instances of a series as a list of UIDs (PS3.4 C.4.2.2.1)."""
    by_study: dict[str, list[RemoteInstance]] = {}
    for i in all_instances:
        by_study.setdefault(i.study_uid, []).append(i)
    wanted = {i.sop_instance_uid for i in missing}
    requests: list[_Request] = []
    for study_uid, items in by_study.items():
        need = [i for i in items if i.sop_instance_uid in wanted]
        if not need:
            continue
        if len(need) == len(items):
            requests.append(_Request(Level.STUDY, {"StudyInstanceUID": study_uid}, tuple(need)))
            continue
        by_series: dict[str, list[RemoteInstance]] = {}
        for i in items:
            by_series.setdefault(i.series_uid, []).append(i)
        for series_uid, s_items in by_series.items():
            s_need = [i for i in s_items if i.sop_instance_uid in wanted]
            keys = {"StudyInstanceUID": study_uid, "SeriesInstanceUID": series_uid}
            if len(s_need) == len(s_items):
                requests.append(_Request(Level.SERIES, keys, tuple(s_need)))
            elif s_need:
                keys["SOPInstanceUID"] = "\\".join(i.sop_instance_uid for i in s_need)
                requests.append(_Request(Level.IMAGE, keys, tuple(s_need)))
    return requests


@dataclass
class _Outcome:
    status: int | None = None
    failed_uids: set[str] = field(default_factory=set)
    store_errors: dict[str, str] = field(default_factory=dict)


def _failed_list(ds: Dataset | None) -> set[str]:
    if ds is None or "FailedSOPInstanceUIDList" not in ds:
        return set()
    value = ds.FailedSOPInstanceUIDList
    if value is None or value == "":
        return set()
    return {str(value)} if isinstance(value, str) else {str(v) for v in value}


def _track(responses: Iterator[tuple[Dataset, Dataset | None]], outcome: _Outcome, progress: Callable[[int], None]) -> None:
    for status, ds in responses:
        code = getattr(status, "Status", None)
        if code is None:
            outcome.status = None
            return
        done = sum(int(getattr(status, k, 0) or 0) for k in ("NumberOfCompletedSuboperations", "NumberOfFailedSuboperations", "NumberOfWarningSuboperations"))
        progress(done)
        if code not in (0xFF00, 0xFF01):
            outcome.status = code
            outcome.failed_uids |= _failed_list(ds)


def _move(settings: DicomSettings, remote: RemoteAE, requests: Sequence[_Request], outcome: _Outcome, progress: Callable[[int], None]) -> None:
    sop_class = CLASSES[Model.STUDY_ROOT].move
    offset = 0
    with _association(settings, remote, [build_context(sop_class)]) as assoc:
        for req in requests:
            _track(assoc.send_c_move(identifier(req.level, req.keys), settings.ae_title, sop_class), outcome, lambda d: progress(offset + d))
            offset += len(req.instances)


def _get_contexts(sop_classes: Sequence[str]) -> tuple[list[Any], list[Any]]:
    """C-GET contexts: the GET class, then per storage class one context with the native syntaxes
    and one with the others, so the remote can send as stored (PS3.4 C.4.3.1, PS3.7 D.3.3.4).

    Some SCPs (dcmqrscp) do not return SOP Class UID at IMAGE level: when a class is unknown,
    every storage class we know is proposed with the native syntaxes, as far as 128 contexts go."""
    native = list(UNCOMPRESSED_TRANSFER_SYNTAXES[:2])
    compressed = [ts for ts in transfer_syntax_uids() if ts not in UNCOMPRESSED_TRANSFER_SYNTAXES]
    known = [c for c in dict.fromkeys(sop_classes) if c]
    contexts = [build_context(CLASSES[Model.STUDY_ROOT].get)]
    if known and all(sop_classes) and 1 + 2 * len(known) <= 128:
        for cls in known:
            contexts += [build_context(cls, native), build_context(cls, compressed)]
        classes = known
    else:
        classes = list(dict.fromkeys(known + storage_sop_class_uids()))[:127]
        contexts += [build_context(cls, native) for cls in classes]
    return contexts, [build_role(cls, scp_role=True) for cls in classes]


def _get(settings: DicomSettings, remote: RemoteAE, requests: Sequence[_Request], archive: Archive, outcome: _Outcome, progress: Callable[[int], None]) -> None:
    classes = [i.sop_class_uid for r in requests for i in r.instances]

    def on_store(event: evt.Event) -> int | Dataset:
        req = cast(C_STORE, event.request)
        uid = str(req.AffectedSOPInstanceUID)
        try:
            archive.store_encoded(
                req.DataSet.getbuffer() if req.DataSet is not None else b"",
                str(event.context.transfer_syntax),
                sop_class_uid=str(event.context.abstract_syntax),
                sop_instance_uid=uid,
                provenance=Provenance(remote.ae_title, remote.host),
            )
        except StoreRefused as exc:
            outcome.store_errors[uid] = f"our archive refused it (0x{int(exc.status):04X}): {exc.reason}"
            rsp = Dataset()
            rsp.Status = int(exc.status)
            return rsp
        return 0x0000

    contexts, roles = _get_contexts(classes)
    sop_class = CLASSES[Model.STUDY_ROOT].get
    offset = 0
    with _association(settings, remote, contexts, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)]) as assoc:
        for req in requests:
            _track(assoc.send_c_get(identifier(req.level, req.keys), sop_class), outcome, lambda d: progress(offset + d))
            offset += len(req.instances)


@contextmanager
def receiving(settings: DicomSettings, archive: Archive, db: Database) -> Iterator[ThreadedAssociationServer | None]:
    """Our Storage SCP for the C-STOREs a C-MOVE brings: started here unless the service already
    listens on ``settings.port`` (then it receives them and this yields None)."""
    from publisher.dicom.server import start_server  # the server imports the QR SCP: no cycle at import

    try:
        server = start_server(settings, archive, db)
    except OSError:
        log.info("port %d in use: the running service receives the C-MOVE sub-operations", settings.port)
        yield None
        return
    try:
        yield server
    finally:
        server.shutdown()


def retrieve(
    settings: DicomSettings,
    remote: RemoteAE,
    selection: RetrieveSelection,
    archive: Archive,
    *,
    method: Method | None = None,
    progress: Progress | None = None,
    only: Collection[str] | None = None,
) -> RetrieveReport:
    """Fetch ``selection`` from ``remote`` into ``archive``; return when everything that could
    arrive is in the archive and index. Instances already indexed are not fetched again.

    For C-MOVE the remote must know our AE title (``settings.ae_title``) with our host and port,
    and our Storage SCP must be listening (see :func:`receiving`). ``only``: fetch no instance
    but these SOP Instance UIDs (retention's purged ones, :mod:`publisher.retention.restore`)."""
    how: Method = method or remote.retrieve
    report = RetrieveReport(remote.ae_title, how)
    instances = enumerate_instances(settings, remote, selection)
    report.found = len(instances)
    present = present_in_index(archive.db, [i.sop_instance_uid for i in instances])
    report.already_present = [i.sop_instance_uid for i in instances if i.sop_instance_uid in present]
    missing = [i for i in instances if i.sop_instance_uid not in present and (only is None or i.sop_instance_uid in only)]
    if not missing:
        return report
    requests = plan(missing, instances)
    report.requests = len(requests)
    outcome = _Outcome()

    def step(done: int) -> None:
        if progress is not None:
            progress(min(done, len(missing)), len(missing))

    try:
        if how == "move":
            _move(settings, remote, requests, outcome, step)
        else:
            _get(settings, remote, requests, archive, outcome, step)
    except RemoteError as exc:
        outcome.status = None
        for i in missing:
            outcome.store_errors.setdefault(i.sop_instance_uid, str(exc))
    arrived = present_in_index(archive.db, [i.sop_instance_uid for i in missing])
    for i in missing:
        uid = i.sop_instance_uid
        if uid in arrived:
            report.retrieved.append(uid)
        else:
            report.failed[uid] = _reason(uid, outcome, how)
    if progress is not None:
        progress(len(missing), len(missing))
    return report


def _reason(uid: str, outcome: _Outcome, how: str) -> str:
    if uid in outcome.store_errors:
        return outcome.store_errors[uid]
    if uid in outcome.failed_uids:
        return f"the remote reported its C-STORE sub-operation failed (C-{how.upper()} status 0x{outcome.status or 0:04X})"
    if outcome.status is None:
        return f"the C-{how.upper()} got no final response (timeout or abort)"
    if outcome.status not in (0x0000, 0xB000):
        return f"the C-{how.upper()} failed with status 0x{outcome.status:04X}"
    return "not received although the remote reported no failure for it"
