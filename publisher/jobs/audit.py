"""The audit trail: every export of patient data to media is recorded (DESIGN section 7).

Rows of :class:`publisher.db.models.AuditEvent`: who (a user, or the service for unattended
rules), what action, on which subject (a File-set ID, a job), and the details as JSON: which
patients, studies and instances, which image, and later which robot and who took the disc.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from typing import Any

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
            "instances": len(v.instances),
            "rejected_left_out": rejected_left_out,
        })
