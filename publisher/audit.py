"""The audit trail: every export of patient data to media is recorded (docs/architecture.md, section 7).

Rows of :class:`publisher.db.models.AuditEvent`: who (a user, or the service for unattended
rules), what action, on which subject (a File-set ID, a job), and the details as JSON: which
patients, studies and instances, which image, and later which robot and who took the disc.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.db.models import AuditEvent
from publisher.media import Volume


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (containers, services)
        return "unknown"


def record(session: Session, actor: str, action: str, subject: str, detail: dict[str, Any]) -> AuditEvent:
    event = AuditEvent(actor=actor[:64], action=action[:64], subject=subject[:128],
                       detail=json.dumps(detail, ensure_ascii=False, sort_keys=True))
    session.add(event)
    return event


def record_volumes(session: Session, actor: str, volumes: Sequence[Volume], rejected_left_out: int = 0) -> None:
    """One ``media-export`` event per volume: the patients and instances that left on it."""
    for v in volumes:
        patients = sorted({(i.patient_id, i.patient_name) for i in v.instances})
        record(session, actor, "media-export", v.file_set_id, {
            "disc": f"{v.number}/{v.count}",
            "media": v.media_type.value,
            "profile": v.profile,
            "image": str(v.image or v.root),
            "size": v.size,
            "patients": [{"id": pid, "name": name} for pid, name in patients],
            "studies": sorted({i.study_instance_uid for i in v.instances}),
            # per study: its SOP classes with their counts and its accession numbers, for the
            # Study participant objects of the DICOM audit messages (PS3.15 A.5.3.4, A.5.2)
            "study_contents": _study_contents(v),
            "instances": len(v.instances),
            "rejected_left_out": rejected_left_out,
        })


def _study_contents(volume: Volume) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in volume.instances:
        study = out.setdefault(i.study_instance_uid, {"sop_classes": {}, "accessions": []})
        study["sop_classes"][i.sop_class_uid] = study["sop_classes"].get(i.sop_class_uid, 0) + 1
        if i.accession_number and i.accession_number not in study["accessions"]:
            study["accessions"].append(i.accession_number)
    return out


#: Who may take a disc at the front desk, as the hand-out form offers it.
RECIPIENT_RELATIONS: dict[str, str] = {
    "patient": "the patient",
    "relative": "a relative of the patient",
    "representative": "a legal representative",
    "referring-physician": "the referring physician",
    "other-physician": "another physician or hospital",
    "courier": "a courier",
    "other": "someone else (see note)",
}

HANDOUT = "handout"


def job_subject(job_id: int) -> str:
    """The subject of a disc job's events (burn, hand-out, cancel ...)."""
    return f"job {job_id}"


def record_handout(session: Session, actor: str, job_id: int, discs: Sequence[dict[str, Any]], *, recipient: str,
                   relation: str, id_checked: bool, patients: Sequence[dict[str, Any]], note: str = "",
                   override: str = "") -> AuditEvent:
    """Discs of a finished job handed to a person: who handed them (``actor``), which discs
    (volume, copy, File-set ID), with whose data, to whom, as what, and whether an ID was seen;
    ``override``: why discs marked superseded were handed out all the same."""
    if relation not in RECIPIENT_RELATIONS:
        raise ValueError(f"relation {relation!r}: one of {', '.join(RECIPIENT_RELATIONS)}")
    if not recipient.strip():
        raise ValueError("the name of the person who takes the disc is missing")
    if not discs:
        raise ValueError("no disc selected")
    return record(session, actor, HANDOUT, job_subject(job_id), {
        "job": job_id,
        "discs": list(discs),
        "patients": list(patients),
        "recipient": {"name": recipient.strip()[:200], "relation": relation, "id_checked": bool(id_checked)},
        "note": note.strip()[:500],
        **({"override": override.strip()[:500]} if override.strip() else {}),
    })


def handouts(session: Session, job_id: int) -> list[tuple[AuditEvent, dict[str, Any]]]:
    """The hand-out events of a job, oldest first, with their parsed details."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.action == HANDOUT, AuditEvent.subject == job_subject(job_id))
                           .order_by(AuditEvent.id))
    return [(e, json.loads(e.detail or "{}")) for e in rows]


DISC_IMPORT = "disc-import"


def record_disc_import(session: Session, actor: str, source: str, detail: dict[str, Any]) -> AuditEvent:
    """A disc from elsewhere imported: who, from which source, the counts, and how each of its
    patients was reconciled (``detail["patients"]``: from -> to)."""
    return record(session, actor, DISC_IMPORT, source[-128:], detail)
