"""A person's selection (patients, studies, series) read from the index as media instances.

This is where the index meets the media engine: rows are mapped to
:class:`publisher.media.MediaInstance` with the DICOMDIR record keys stored at ingest, so
mastering never re-reads the files' headers. Rejection notes (IHE IOCM Key Object Selection
documents titled from CID 7011) found among the patients' instances are resolved here, so a
rejected instance is never burned even when its note sits in another study.
"""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmread
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from publisher.archive import record_keys
from publisher.archive.identity import PatientSelectionError, resolve_patients
from publisher.db.models import Instance, Patient, Series, Study
from publisher.jobs.records import Selection
from publisher.media import MediaInstance
from publisher.media.rejection import KEY_OBJECT_SELECTION, is_rejection_note, rejected_uids


__all__ = ["EmptySelection", "Selection", "rejected_in", "select_instances", "to_media"]


class EmptySelection(ValueError):
    """Nothing in the index matches the selection (the message says what was asked)."""


def _rows(session: Session, sel: Selection):  # type: ignore[no-untyped-def]
    cond = []
    if sel.patients:
        try:
            cond.append(Patient.id.in_(resolve_patients(session, sel.patients)))
        except PatientSelectionError as exc:
            raise EmptySelection(str(exc)) from None
    if sel.studies:
        cond.append(Study.study_instance_uid.in_(list(sel.studies)))
    if sel.series:
        cond.append(Series.series_instance_uid.in_(list(sel.series)))
    if sel.instances:
        cond.append(Instance.sop_instance_uid.in_(list(sel.instances)))
    if not cond:
        raise EmptySelection("select at least one patient, study, series or instance")
    return session.execute(
        select(Instance, Series, Study, Patient)
        .join(Series, Instance.series_fk == Series.id)
        .join(Study, Series.study_fk == Study.id)
        .join(Patient, Study.patient_fk == Patient.id)
        .where(or_(*cond))
        .order_by(Patient.id, Study.study_date, Study.id, Series.series_number, Series.id, Instance.instance_number, Instance.id)
    ).all()


def to_media(inst: Instance, se: Series, st: Study, p: Patient, archive_root: Path) -> MediaInstance:
    return MediaInstance(
        patient_id=p.patient_id,
        patient_name=p.patient_name,
        study_instance_uid=st.study_instance_uid,
        series_instance_uid=se.series_instance_uid,
        modality=se.modality,
        sop_class_uid=inst.sop_class_uid,
        sop_instance_uid=inst.sop_instance_uid,
        transfer_syntax_uid=inst.transfer_syntax_uid,
        path=archive_root / inst.path,
        size=inst.size,
        issuer_of_patient_id=p.issuer_of_patient_id,
        patient_birth_date=p.patient_birth_date,
        patient_sex=p.patient_sex,
        study_date=st.study_date,
        study_time=st.study_time,
        study_id=st.study_id,
        accession_number=st.accession_number,
        study_description=st.study_description,
        referring_physician_name=st.referring_physician_name,
        series_number=se.series_number,
        series_description=se.series_description,
        instance_number=inst.instance_number,
        specific_character_set=inst.specific_character_set,
        sha256=inst.sha256,
        record_keys=record_keys.from_json(inst.record_keys),
    )


def rejected_in(session: Session, patient_pks: set[int], archive_root: Path) -> set[str]:
    """SOP Instance UIDs rejected by IOCM notes stored for these patients (notes included)."""
    if not patient_pks:
        return set()
    notes = session.execute(
        select(Instance.sop_instance_uid, Instance.path, Instance.record_keys)
        .join(Series, Instance.series_fk == Series.id)
        .join(Study, Series.study_fk == Study.id)
        .where(Study.patient_fk.in_(patient_pks), Instance.sop_class_uid == KEY_OBJECT_SELECTION)
    ).all()
    datasets, note_uids = [], set()
    for uid, path, keys in notes:
        if is_rejection_note(record_keys.from_json(keys)):
            datasets.append(dcmread(archive_root / path, stop_before_pixels=True))
            note_uids.add(uid)
    return rejected_uids(datasets) | note_uids


def select_instances(session: Session, sel: Selection, archive_root: Path) -> tuple[list[MediaInstance], set[str]]:
    """The selected instances in DICOMDIR order, and the UIDs rejected by IOCM notes."""
    rows = _rows(session, sel)
    if not rows:
        raise EmptySelection(f"no stored instance matches {sel.describe()}")
    instances = [to_media(i, se, st, p, archive_root) for i, se, st, p in rows]
    rejected = rejected_in(session, {p.id for _, _, _, p in rows}, archive_root)
    return instances, rejected
