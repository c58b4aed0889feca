"""Who a patient is: the key the index files instances under, and how a person names a patient.

A patient is identified by Patient ID (0010,0020) within its Issuer of Patient ID (0010,0021)
(PS3.3 C.7.1.1: the Patient ID is the primary identifier of the patient, unique only within the
assigning authority the Issuer names; IHE ITI PIX/PDQ identify a patient the same way, by an ID
in an assigning authority's domain). Patient ID is Type 2 in the Patient Module, so instances
arrive without one: unidentified emergency patients before reconciliation (IHE RAD Patient
Information Reconciliation), de-identified research exports, some secondary captures.

Such instances are never merged on the empty ID. Each study without a Patient ID is its own
patient (the row's ``unidentified_study_uid`` is the study's UID). Merging on demographics
instead (name + birth date + sex) was rejected: unidentified patients carry placeholder
demographics ("UNKNOWN^UNKNOWN", no birth date, the same sex), de-identified data carries none,
and IHE leaves demographic matching to a patient identity source (a PIX manager, with a person
confirming), never to an image archive. Putting two persons on one disc is the harm to avoid;
a person's two studies without an ID showing as two patients only costs a second tick.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from publisher.db.models import Patient


class PatientSelectionError(ValueError):
    """A patient named by ID cannot be picked safely (no ID, or the ID of several issuers)."""


def has_patient_id(patient_id: str) -> bool:
    return bool(patient_id.strip())


def patient_key(patient_id: str, issuer: str, study_instance_uid: str) -> dict[str, str]:
    """The unique key of the patient row an instance of this study is filed under."""
    return {
        "patient_id": patient_id,
        "issuer_of_patient_id": issuer,
        "unidentified_study_uid": "" if has_patient_id(patient_id) else study_instance_uid,
    }


def parse_ref(text: str) -> tuple[str, str | None]:
    """``ID`` or ``ID\\ISSUER`` (a backslash cannot occur in either, PS3.5 LO) -> (ID, issuer
    or None when not given)."""
    pid, sep, issuer = text.partition("\\")
    return pid.strip(), (issuer.strip() if sep else None)


def resolve_patients(session: Session, refs: Sequence[str]) -> list[int]:
    """The patient rows named by ``refs`` (see :func:`parse_ref`).

    Refuses an empty ID (those patients are one per study: select the study) and an ID held by
    several issuers when no issuer is given (two persons, PS3.3 C.7.1.1)."""
    out: list[int] = []
    for ref in refs:
        pid, issuer = parse_ref(ref)
        if not has_patient_id(pid):
            raise PatientSelectionError("a patient without a Patient ID is one patient per study: "
                                        "select their study by its Study Instance UID instead")
        stmt = select(Patient.id, Patient.issuer_of_patient_id).where(Patient.patient_id == pid)
        if issuer is not None:
            stmt = stmt.where(Patient.issuer_of_patient_id == issuer)
        rows = session.execute(stmt).all()
        issuers = sorted({str(i) for _, i in rows})
        if len(issuers) > 1:
            named = ", ".join(repr(i) if i else "(no issuer)" for i in issuers)
            raise PatientSelectionError(f"Patient ID {pid!r} is used by {len(issuers)} issuers ({named}), so by "
                                        f"different persons: name one as ID\\ISSUER, e.g. {pid}\\{issuers[-1]}")
        out.extend(int(r[0]) for r in rows)
    return out
