"""Storage SCU (PS3.4 Annex B): sending archived instances to another AE.

Used by ``publisher send`` and by the C-MOVE / C-GET SCP sub-operations. An instance is sent in
the transfer syntax it was stored in whenever the peer accepts it; when the peer accepts only
native syntaxes (e.g. Explicit VR Little Endian) a compressed instance is decompressed with
pydicom's pixel handlers (pylibjpeg, pyjpegls) and sent native. A lossy recompression is never
made (docs/architecture.md, section 4). Presentation contexts are proposed per SOP class: one per stored
compressed syntax (so the peer can accept it alone) and one with the native syntaxes
(PS3.8 9.3.2.2, at most 128 contexts per association).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID
from pynetdicom import AE, build_context
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext

from publisher.archive import lookup
from publisher.config import DicomSettings, RemoteAE
from publisher.db.session import Database
from publisher.dicom.sop_classes import UNCOMPRESSED_TRANSFER_SYNTAXES
from publisher.dicom.tls import tls_args
from publisher.dicomio.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME

log = logging.getLogger(__name__)

MAX_CONTEXTS = 128  # PS3.8 9.3.2.2: presentation context IDs are odd numbers 1..255
NATIVE = list(UNCOMPRESSED_TRANSFER_SYNTAXES[:2])  # Explicit VR LE first, then Implicit VR LE
#: A transfer syntax no peer ever accepts: a placeholder dataset carrying it makes the
#: C-STORE sub-operation fail (and be listed) instead of sending something else.
_NOT_SENDABLE = "1.2.840.10008.1.2.999999"


class NotSendable(Exception):
    """An instance cannot be sent on this association; the message says why."""


@dataclass(frozen=True)
class InstanceRef:
    """One archived instance to send: where its file is and how it is encoded."""

    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    path: Path


def storage_contexts(refs: Iterable[InstanceRef]) -> list[PresentationContext]:
    """Contexts to propose for ``refs``: per SOP class, each stored compressed syntax alone, then
    the native syntaxes. Compressed contexts are dropped first when there are too many."""
    stored: dict[str, list[str]] = {}
    for r in refs:
        syntaxes = stored.setdefault(r.sop_class_uid, [])
        if r.transfer_syntax_uid not in UNCOMPRESSED_TRANSFER_SYNTAXES and r.transfer_syntax_uid not in syntaxes:
            syntaxes.append(r.transfer_syntax_uid)
    native = [build_context(cls, NATIVE) for cls in stored]
    compressed = [build_context(cls, [ts]) for cls, syntaxes in stored.items() for ts in syntaxes]
    contexts = (compressed + native) if len(compressed) + len(native) <= MAX_CONTEXTS else native
    if len(contexts) > MAX_CONTEXTS:
        log.warning("%d SOP classes: only the first %d can be proposed on one association", len(contexts), MAX_CONTEXTS)
    return contexts[:MAX_CONTEXTS]


def accepted_syntaxes(contexts: Iterable[PresentationContext]) -> dict[str, set[str]]:
    """SOP class -> transfer syntaxes the peer accepted."""
    out: dict[str, set[str]] = {}
    for cx in contexts:
        if cx.transfer_syntax:
            out.setdefault(str(cx.abstract_syntax), set()).add(str(cx.transfer_syntax[0]))
    return out


def prepare(ref: InstanceRef, accepted: Mapping[str, set[str]]) -> Dataset:
    """The dataset to send for ``ref`` on an association that accepted ``accepted``:
    as stored when possible, decompressed when only native syntaxes were accepted."""
    syntaxes = accepted.get(ref.sop_class_uid, set())
    if not syntaxes:
        raise NotSendable(f"the peer accepted no presentation context for SOP class {ref.sop_class_uid}")
    try:
        ds = dcmread(ref.path)
    except (OSError, ValueError) as exc:
        raise NotSendable(f"cannot read {ref.path}: {exc}") from None
    stored = str(ds.file_meta.TransferSyntaxUID)
    if stored in syntaxes:
        return ds
    native_ok = syntaxes & set(UNCOMPRESSED_TRANSFER_SYNTAXES)
    if stored in UNCOMPRESSED_TRANSFER_SYNTAXES and native_ok:
        return ds  # pynetdicom re-encodes between native syntaxes
    if native_ok:
        try:
            ds.decompress(generate_instance_uid=False)  # same instance, only re-encoded
        except Exception as exc:  # no pixel handler, corrupt stream
            raise NotSendable(f"cannot decompress {stored}: {exc}") from None
        return ds
    raise NotSendable(f"the peer accepts {', '.join(sorted(syntaxes))} but the instance is stored in {stored}")


def placeholder(ref: InstanceRef) -> Dataset:
    """A dataset that fails its C-STORE sub-operation, so it is counted and listed as failed
    (PS3.4 C.4.2.1.4.2 Failed SOP Instance UID List) without anything being sent."""
    ds = Dataset()
    ds.SOPClassUID = ref.sop_class_uid
    ds.SOPInstanceUID = ref.sop_instance_uid
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = UID(_NOT_SENDABLE)
    return ds


# -- selections from the index ----------------------------------------------------------------


def instances_of(db: Database, archive_root: Path, patients: Sequence[str] = (), studies: Sequence[str] = (), series: Sequence[str] = (), instances: Sequence[str] = ()) -> list[InstanceRef]:
    """The archived instances of any mix of patients (``ID`` or ``ID\\ISSUER``), study, series and
    SOP instance UIDs; a patient that cannot be named safely raises
    :class:`~publisher.archive.identity.PatientSelectionError`."""
    found = lookup.instances_of_selection(db, patients, studies, series, instances)
    return [InstanceRef(i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax_uid, archive_root / i.path) for i in found]


# -- sending ------------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What a send did: instances sent, and the failed ones with the reason for each."""

    sent: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    decompressed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def associate(settings: DicomSettings, remote: RemoteAE, contexts: list[PresentationContext], **kwargs: object) -> Association:
    """An association from our AE title to ``remote`` proposing ``contexts``."""
    ae = AE(ae_title=settings.ae_title)
    ae.implementation_class_uid = IMPLEMENTATION_CLASS_UID  # ours, not pynetdicom's (PS3.7 D.3.3.2)
    ae.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    ae.acse_timeout = settings.acse_timeout
    ae.dimse_timeout = settings.dimse_timeout
    ae.network_timeout = settings.network_timeout
    ae.maximum_pdu_size = settings.max_pdu_size
    return ae.associate(remote.host, remote.port, contexts=contexts, ae_title=remote.ae_title, tls_args=tls_args(remote, settings), **kwargs)  # type: ignore[arg-type]


def send(
    settings: DicomSettings,
    remote: RemoteAE,
    refs: Sequence[InstanceRef],
    progress: Callable[[InstanceRef, str], None] | None = None,
) -> SendReport:
    """C-STORE ``refs`` to ``remote`` on one association; each failure is reported, none stops the rest."""
    report = SendReport()
    if not refs:
        return report
    assoc = associate(settings, remote, storage_contexts(refs))
    if not assoc.is_established:
        for r in refs:
            report.failed[r.sop_instance_uid] = f"association with {remote.ae_title} at {remote.host}:{remote.port} was not accepted"
        return report
    accepted = accepted_syntaxes(assoc.accepted_contexts)
    try:
        for ref in refs:
            outcome = _send_one(assoc, ref, accepted, report)
            if progress is not None:
                progress(ref, outcome)
            if not assoc.is_established:
                for r in refs[refs.index(ref) + 1 :]:
                    report.failed[r.sop_instance_uid] = "association aborted by the peer"
                break
    finally:
        if assoc.is_established:
            assoc.release()
    return report


def _send_one(assoc: Association, ref: InstanceRef, accepted: Mapping[str, set[str]], report: SendReport) -> str:
    uid = ref.sop_instance_uid
    try:
        if ref.transfer_syntax_uid in accepted.get(ref.sop_class_uid, set()) and ref.path.is_file():
            status = assoc.send_c_store(ref.path)  # stored bytes as they are, no decoding
        else:
            ds = prepare(ref, accepted)
            if str(ds.file_meta.TransferSyntaxUID) != ref.transfer_syntax_uid:
                report.decompressed.append(uid)
            status = assoc.send_c_store(ds)
    except NotSendable as exc:
        report.failed[uid] = str(exc)
        return "failed"
    except Exception as exc:  # pynetdicom raises on encoding or context problems
        report.failed[uid] = f"{exc.__class__.__name__}: {exc}"
        return "failed"
    code = getattr(status, "Status", None)
    if code is None:
        report.failed[uid] = "no C-STORE response (timeout or abort)"
        return "failed"
    if code == 0x0000:
        report.sent.append(uid)
        return "sent"
    if code in (0xB000, 0xB007, 0xB006):
        report.warnings.append(uid)
        report.sent.append(uid)
        return "warning"
    comment = str(getattr(status, "ErrorComment", "") or "")
    report.failed[uid] = f"C-STORE status 0x{code:04X}{': ' + comment if comment else ''}"
    return "failed"
