"""Modality Worklist SCU (PS3.4 Annex K) and matching worklist entries to archived studies.

:func:`query_worklist` asks a worklist SCP for Scheduled Procedure Steps by scheduled station AE
title, modality, date range and patient (PS3.4 K.6.1.2.2 matching keys); :func:`match_studies`
finds the archive's studies each entry names, by Study Instance UID and else by Accession
Number (IHE RAD-5 / RAD-10 keep both), so disc rules can burn what the worklist names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pynetdicom import build_context

from publisher.archive import lookup
from publisher.config import DicomSettings, RemoteAE
from publisher.db.session import Database
from publisher.dicom.qr_scu import RemoteError
from publisher.dicom.sop_classes import MODALITY_WORKLIST_FIND
from publisher.dicom.storage_scu import associate


@dataclass(frozen=True)
class WorklistEntry:
    """One Scheduled Procedure Step, decoded (names as Python text, whatever the character set)."""

    patient_name: str
    patient_id: str
    patient_birth_date: str
    patient_sex: str
    accession_number: str
    study_instance_uid: str
    requested_procedure_id: str
    requested_procedure_description: str
    station_ae_title: str
    modality: str
    start_date: str
    start_time: str
    step_id: str
    step_description: str


@dataclass(frozen=True)
class WorklistQuery:
    """Matching keys; empty means universal. ``date`` may be a range (``20260101-20260107``)."""

    station_ae_title: str = ""
    modality: str = ""
    date: str = ""
    patient_name: str = ""
    patient_id: str = ""
    accession_number: str = ""


def worklist_identifier(q: WorklistQuery) -> Dataset:
    """The C-FIND identifier (PS3.4 K.6.1.2.2): patient and request keys at the top level, the
    step's keys in one Scheduled Procedure Step Sequence item."""
    ds = Dataset()
    # Always named: an SCP returns Specific Character Set only when asked (PS3.4 K.6.1.2.2), and
    # DCMTK SCPs convert their answers to the query's character set; UTF-8 carries every name.
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = q.patient_name or None
    ds.PatientID = q.patient_id or None
    ds.PatientBirthDate = None
    ds.PatientSex = None
    ds.AccessionNumber = q.accession_number or None
    ds.StudyInstanceUID = None
    ds.RequestedProcedureID = None
    ds.RequestedProcedureDescription = None
    sps = Dataset()
    sps.ScheduledStationAETitle = q.station_ae_title or None
    sps.Modality = q.modality or None
    sps.ScheduledProcedureStepStartDate = q.date or None
    sps.ScheduledProcedureStepStartTime = None
    sps.ScheduledProcedureStepID = None
    sps.ScheduledProcedureStepDescription = None
    ds.ScheduledProcedureStepSequence = DicomSequence([sps])
    return ds


def _s(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def entry_from(ds: Dataset) -> WorklistEntry:
    """An entry from a C-FIND response. A response without Specific Character Set is read as
    UTF-8, the set our query named: DCMTK wlmscpfs by default (-cs0) omits it while passing its
    files' bytes through unchanged."""
    if "SpecificCharacterSet" not in ds:
        ds.SpecificCharacterSet = "ISO_IR 192"
    seq = ds.get("ScheduledProcedureStepSequence") or [Dataset()]
    sps = seq[0]
    return WorklistEntry(
        _s(ds, "PatientName"), _s(ds, "PatientID"), _s(ds, "PatientBirthDate"), _s(ds, "PatientSex"),
        _s(ds, "AccessionNumber"), _s(ds, "StudyInstanceUID"), _s(ds, "RequestedProcedureID"),
        _s(ds, "RequestedProcedureDescription"), _s(sps, "ScheduledStationAETitle"), _s(sps, "Modality"),
        _s(sps, "ScheduledProcedureStepStartDate"), _s(sps, "ScheduledProcedureStepStartTime"),
        _s(sps, "ScheduledProcedureStepID"), _s(sps, "ScheduledProcedureStepDescription"),
    )


def query_worklist(settings: DicomSettings, remote: RemoteAE, query: WorklistQuery) -> Iterator[WorklistEntry]:
    """The worklist entries ``remote`` holds for ``query``."""
    assoc = associate(settings, remote, [build_context(MODALITY_WORKLIST_FIND)])
    if not assoc.is_established:
        raise RemoteError(f"{remote.ae_title} at {remote.host}:{remote.port} did not accept the association")
    try:
        for status, ds in assoc.send_c_find(worklist_identifier(query), MODALITY_WORKLIST_FIND):
            code = getattr(status, "Status", None)
            if code is None:
                raise RemoteError(f"{remote.ae_title}: worklist C-FIND got no response")
            if code in (0xFF00, 0xFF01) and ds is not None:
                yield entry_from(ds)
            elif code not in (0x0000, 0xFF00, 0xFF01):
                raise RemoteError(f"{remote.ae_title}: worklist C-FIND failed with status 0x{code:04X}")
    finally:
        if assoc.is_established:
            assoc.release()


@dataclass(frozen=True)
class WorklistMatch:
    entry: WorklistEntry
    study_uids: list[str] = field(default_factory=list)
    matched_by: str = ""  # "study-uid", "accession" or "" when nothing is archived yet


def match_studies(db: Database, entries: Sequence[WorklistEntry]) -> list[WorklistMatch]:
    """For each entry, the archived studies it names: by Study Instance UID, else by Accession
    Number (with the same Patient ID when the entry has one, since accession numbers are only
    unique per issuer)."""
    uids = [e.study_instance_uid for e in entries if e.study_instance_uid]
    accessions = [e.accession_number for e in entries if e.accession_number]
    by_uid: set[str] = set()
    by_accession: dict[str, list[tuple[str, str]]] = {}
    for study in lookup.studies_by_uid_or_accession(db, uids, accessions):
        if study.study_instance_uid in uids:
            by_uid.add(study.study_instance_uid)
        if study.accession_number:
            by_accession.setdefault(study.accession_number, []).append((study.study_instance_uid, study.patient_id))
    out = []
    for e in entries:
        if e.study_instance_uid and e.study_instance_uid in by_uid:
            out.append(WorklistMatch(e, [e.study_instance_uid], "study-uid"))
            continue
        found = [uid for uid, pid in by_accession.get(e.accession_number, []) if not e.patient_id or pid == e.patient_id]
        out.append(WorklistMatch(e, sorted(found), "accession" if found else ""))
    return out
