"""Importing discs that come in from elsewhere (docs/architecture.md, section 2): read, reconcile, store, forward.

A File-set read by :mod:`publisher.media.read` is filed instance by instance through
:meth:`Archive.store_encoded`, so the archive's durability and duplicate rules apply unchanged
(docs/architecture.md, section 7): a file is refused with its reason, and nothing stops the rest.

Patient IDs from another hospital are not ours: the operator's :data:`PatientPolicy` and the
coercion it makes (PS3.3 C.12.1.1.9) are in :mod:`publisher.intake.coercion`. Each import
writes one ``disc-import`` audit event.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID

from publisher.archive.ingest import Archive, Outcome, Provenance, StoreRefused
from publisher.config import DicomSettings, RemoteAE
from publisher.dicom.storage_scu import InstanceRef, SendReport, instances_of, send
from publisher.dicomio.part10 import is_part10, split_part10
from publisher import audit
from publisher.media.read.entries import FileEntry, FileSet, Problem, ProblemKind
from publisher.media.read.fileset import read_fileset
from publisher.media.read.medium import open_medium
from publisher.intake.coercion import (
    AssignIssuer,
    DiscImportError,
    KeepPatientIds,
    MapToLocalPatient,
    PatientPolicy,
    changes_for,
    coerce_patient,
    policy_detail,
    text_value,
)
from publisher.progress import Progress

log = logging.getLogger(__name__)


#: Calling AE title recorded for imported instances (index and file meta (0002,0016)).
IMPORT_AE = "DISCIMPORT"
# -- encoding ---------------------------------------------------------------------------------


def _read(data: bytes) -> tuple[Dataset, str]:
    """The whole data set of a file's bytes and its transfer syntax (files without a PS3.10
    header: the encoding pydicom detects, Implicit or Explicit VR Little Endian)."""
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    ts = str(ds.file_meta.get("TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else ""
    if not ts:
        implicit = ds.original_encoding[0] if ds.original_encoding[0] is not None else True
        ts = "1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.1"
    return ds, ts


def _encode(ds: Dataset, ts: str) -> bytes:
    """``ds`` encoded in ``ts`` (a data set without file meta, as :meth:`Archive.store_encoded` takes)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(text_value(ds, "SOPClassUID") or "1.2")
    meta.MediaStorageSOPInstanceUID = UID(text_value(ds, "SOPInstanceUID") or "1.2")
    meta.TransferSyntaxUID = UID(ts)
    ds.file_meta = meta
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, enforce_file_format=True)
    data = buf.getvalue()
    return data[split_part10(data)[1]:]


# -- the import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forward:
    """Send what was imported to ``remote`` (C-STORE, :mod:`publisher.dicom.storage_scu`)."""

    settings: DicomSettings
    remote: RemoteAE


@dataclass
class ImportReport:
    """What an import did. Files are named by their path on the medium."""

    source: str
    found: int = 0
    stored: list[str] = field(default_factory=list)  #: SOP Instance UIDs filed now (new or replaced)
    duplicates: list[str] = field(default_factory=list)  #: already in the archive; the stored copy kept
    refused: dict[str, str] = field(default_factory=dict)  #: path -> reason (with the DIMSE status)
    skipped: dict[str, str] = field(default_factory=dict)  #: path -> why it was left out on purpose
    coerced: int = 0  #: instances stored with their patient attributes replaced
    problems: list[Problem] = field(default_factory=list)  #: from the reader and the import
    patients: list[dict[str, Any]] = field(default_factory=list)  #: from -> to, one per disc patient
    studies: set[str] = field(default_factory=set)
    forwarded: SendReport | None = None
    forward_to: str = ""

    @property
    def ok(self) -> bool:
        """Nothing refused and, when forwarding, nothing failed."""
        return not self.refused and (self.forwarded is None or self.forwarded.ok)

    def summary(self) -> str:
        parts = [f"{self.found} file(s) on the disc", f"{len(self.stored)} stored", f"{len(self.duplicates)} already archived",
                 f"{len(self.refused)} refused"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.coerced:
            parts.append(f"{self.coerced} with reconciled patient IDs")
        if self.problems:
            parts.append(f"{len(self.problems)} problem(s) on the disc")
        text = ", ".join(parts)
        if self.forwarded is not None:
            text += f"; forwarded to {self.forward_to}: {len(self.forwarded.sent)} sent, {len(self.forwarded.failed)} failed"
        return text


def check_policy(fileset: FileSet, policy: PatientPolicy) -> None:
    """Raise :class:`DiscImportError` when ``policy`` cannot apply to ``fileset`` (a mapping to
    one local patient of a disc holding several, none named)."""
    if isinstance(policy, MapToLocalPatient) and policy.source_patient_id is None:
        patients = {e.patient_key for e in fileset.entries}
        if len(patients) > 1:
            names = ", ".join(f"{pid or '(no ID)'}" + (f" [{iss}]" if iss else "") for pid, iss in sorted(patients))
            raise DiscImportError(f"the disc holds {len(patients)} patients ({names}); name the one to map "
                                  "(the source patient ID, --from-patient) or import with an issuer instead")


def import_fileset(
    fileset: FileSet,
    archive: Archive,
    *,
    policy: PatientPolicy = KeepPatientIds(),
    actor: str = "",
    modifying_system: str = "DISCPUB",
    source: str = "",
    forward: Forward | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """File every instance of ``fileset`` into ``archive`` under ``policy``; forward them when
    asked; write the ``disc-import`` audit event (even when the import stops on an error).

    ``source`` describes where the disc came from in the audit trail and as Source of Previous
    Values (default: the medium's description)."""
    check_policy(fileset, policy)
    source = source or fileset.medium.description
    report = ImportReport(source=source, found=len(fileset.entries), problems=list(fileset.problems))
    provenance = Provenance(calling_ae=IMPORT_AE, peer_address=source[:64])
    patients: dict[tuple[str, str, str], dict[str, Any]] = {}
    imported: list[str] = []
    total = len(fileset.entries) * (2 if forward else 1)
    error: str = ""
    try:
        for n, entry in enumerate(fileset.entries):
            if progress is not None:
                progress(n, total, entry.path)
            uid = _import_one(fileset, entry, archive, policy, modifying_system, source, provenance, report, patients)
            if uid:
                imported.append(uid)
        if progress is not None:
            progress(len(fileset.entries), total, "imported")
        if forward is not None:
            report.forward_to = forward.remote.ae_title
            report.forwarded = _forward(archive, forward, imported, len(fileset.entries), progress)
    except Exception as exc:
        error = f"{exc.__class__.__name__}: {exc}"
        raise
    finally:
        report.patients = list(patients.values())
        _audit(archive, actor or audit.current_user(), fileset, policy, report, error)
    return report


def _import_one(fileset: FileSet, entry: FileEntry, archive: Archive, policy: PatientPolicy, modifying_system: str,
                source: str, provenance: Provenance, report: ImportReport,
                patients: dict[tuple[str, str, str], dict[str, Any]]) -> str:
    """File one entry; returns its SOP Instance UID when it is in the archive afterwards."""
    try:
        data = fileset.medium.read(entry.path)
    except OSError as exc:
        report.refused[entry.path] = f"cannot read the file from the medium: {exc}"
        return ""
    try:
        encoded, ts, coerced = _prepared(data, entry, policy, modifying_system, source, patients)
    except _Skip as exc:
        report.skipped[entry.path] = str(exc)
        return ""
    except Exception as exc:  # pydicom raises many kinds on damaged files
        report.refused[entry.path] = f"not a readable DICOM file ({exc.__class__.__name__}: {exc})"
        return ""
    try:
        stored = archive.store_encoded(encoded, ts, provenance=provenance)
    except StoreRefused as exc:
        report.refused[entry.path] = f"{exc.reason} (status 0x{int(exc.status):04X})"
        return ""
    if stored.outcome is Outcome.KEPT_EXISTING:
        report.duplicates.append(stored.sop_instance_uid)
    else:
        report.stored.append(stored.sop_instance_uid)
        report.coerced += coerced
    report.studies.add(stored.meta.study_instance_uid)
    if entry.sop_instance_uid and entry.sop_instance_uid != stored.sop_instance_uid:
        report.problems.append(Problem(
            ProblemKind.BAD_RECORD, entry.file_id or entry.path,
            f"the DICOMDIR names SOP Instance {entry.sop_instance_uid} but the file holds {stored.sop_instance_uid}"))
    return stored.sop_instance_uid


class _Skip(Exception):
    pass


def _prepared(data: bytes, entry: FileEntry, policy: PatientPolicy, modifying_system: str, source: str,
              patients: dict[tuple[str, str, str], dict[str, Any]]) -> tuple[bytes, str, bool]:
    """(data set bytes, transfer syntax, coerced) to store for ``data``: as on the disc, or coerced."""
    if isinstance(policy, KeepPatientIds) and is_part10(data[:132]):
        meta, start = split_part10(data)
        if "TransferSyntaxUID" not in meta:
            raise ValueError("file meta information has no Transfer Syntax UID")
        _note_patient(patients, entry.patient_id, entry.issuer_of_patient_id, entry.patient_name, None)
        return data[start:], str(meta.TransferSyntaxUID), False
    ds, ts = _read(data)
    before = (text_value(ds, "PatientID"), text_value(ds, "IssuerOfPatientID"), text_value(ds, "PatientName"))
    if isinstance(policy, MapToLocalPatient) and policy.source_patient_id is not None and before[0] != policy.source_patient_id:
        raise _Skip(f"patient {before[0]!r} is not the one mapped ({policy.source_patient_id!r})")
    changed = coerce_patient(ds, changes_for(ds, policy), modifying_system=modifying_system,
                             source=policy.issuer if isinstance(policy, AssignIssuer) else source)
    after = (text_value(ds, "PatientID"), text_value(ds, "IssuerOfPatientID"), text_value(ds, "PatientName"))
    _note_patient(patients, *before, after if changed else None)
    if changed or not is_part10(data[:132]):
        return _encode(ds, ts), ts, changed
    return data[split_part10(data)[1]:], ts, False


def _note_patient(patients: dict[tuple[str, str, str], dict[str, Any]], pid: str, issuer: str, name: str,
                  after: tuple[str, str, str] | None) -> None:
    key = (pid, issuer, name)
    if key not in patients:
        patients[key] = {"from": {"id": pid, "issuer": issuer, "name": name}, "to": {"id": pid, "issuer": issuer, "name": name}}
    if after is not None:
        patients[key]["to"] = {"id": after[0], "issuer": after[1], "name": after[2]}


def _forward(archive: Archive, forward: Forward, uids: Sequence[str], offset: int, progress: Progress | None) -> SendReport:
    """C-STORE the archived copies of ``uids`` to the remote on one association."""
    refs: list[InstanceRef] = []
    for i in range(0, len(uids), 500):  # keep IN lists short on every backend
        refs += instances_of(archive.db, archive.root, instances=list(uids[i : i + 500]))
    done = 0

    def step(ref: InstanceRef, outcome: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(offset + done, offset + len(refs), f"{outcome} to {forward.remote.ae_title}")

    return send(forward.settings, forward.remote, refs, progress=step)


def _audit(archive: Archive, actor: str, fileset: FileSet, policy: PatientPolicy, report: ImportReport, error: str) -> None:
    detail: dict[str, Any] = {
        "source": report.source,
        "volume_id": fileset.medium.volume_id,
        "file_set_ids": fileset.file_set_ids,
        "read_by": "scan" if fileset.scanned else "DICOMDIR",
        "reconcile": policy_detail(policy),
        "patients": report.patients,
        "studies": sorted(report.studies),
        "counts": {"found": report.found, "stored": len(report.stored), "duplicates": len(report.duplicates),
                   "refused": len(report.refused), "skipped": len(report.skipped), "coerced": report.coerced,
                   "problems": len(report.problems)},
        "refused": dict(list(report.refused.items())[:100]),
        "problems": [str(p) for p in report.problems[:100]],
    }
    if report.forwarded is not None:
        detail["forwarded"] = {"ae": report.forward_to, "sent": len(report.forwarded.sent), "failed": len(report.forwarded.failed)}
    if error:
        detail["error"] = error
    try:
        with archive.db.session() as s:
            audit.record_disc_import(s, actor, report.source, detail)
    except Exception:  # the audit trail must not hide the import's own outcome
        log.exception("could not record the disc-import audit event for %s", report.source)
        if not error:
            raise


def import_disc(path: Path, archive: Archive, **options: Any) -> ImportReport:
    """Open ``path`` (a folder or an ISO image), read its File-set and import it
    (:func:`import_fileset` takes ``options``)."""
    with open_medium(path) as medium:
        fileset = read_fileset(medium)
        return import_fileset(fileset, archive, **options)
