"""Patient identity of instances from elsewhere: the operator's policy and the coercion.

Patient IDs from another hospital are not ours. Per import the operator chooses
(:data:`PatientPolicy`): :class:`KeepPatientIds`, :class:`AssignIssuer` (fill an empty Issuer of
Patient ID (0010,0021) with the source's name) or :class:`MapToLocalPatient` (the local
patient's ID, the foreign one kept in Other Patient IDs Sequence (0010,1002)).

A coerced instance keeps its SOP Instance UID and gets an item in Original Attributes Sequence
(0400,0561) holding the replaced values (PS3.3 C.12.1.1.9, PS3.4 B.4.1.3): Modifying System,
Reason "COERCE", Attribute Modification DateTime and Source of Previous Values, plus Instance
Coercion DateTime (0008,0015).
"""

from __future__ import annotations

import copy
import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.sequence import Sequence as DicomSequence

REASON_COERCE = "COERCE"  #: PS3.3 C.12.1.1.9 Reason for the Attribute Modification
_UTF8 = "ISO_IR 192"


class DiscImportError(ValueError):
    """The import cannot start as asked (nothing was stored); the message says why."""


# -- patient ID reconciliation ------------------------------------------------------------------


@dataclass(frozen=True)
class KeepPatientIds:
    """Store the disc's patient identification as it is."""


@dataclass(frozen=True)
class AssignIssuer:
    """Set Issuer of Patient ID (0010,0021) to ``issuer`` where the disc left it empty."""

    issuer: str

    def __post_init__(self) -> None:
        if not self.issuer.strip():
            raise DiscImportError("the issuer (the source's name) must not be empty")
        if len(self.issuer) > 64:
            raise DiscImportError("Issuer of Patient ID is LO: at most 64 characters")


@dataclass(frozen=True)
class MapToLocalPatient:
    """Give the disc's patient the local ``patient_id`` (and issuer, optionally name, birth date
    and sex). ``source_patient_id`` picks one patient of a disc holding several; without it the
    disc must hold exactly one."""

    patient_id: str
    issuer: str = ""
    patient_name: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    source_patient_id: str | None = None

    def __post_init__(self) -> None:
        if not self.patient_id.strip():
            raise DiscImportError("the local patient ID must not be empty")
        if len(self.patient_id) > 64 or len(self.issuer) > 64:
            raise DiscImportError("Patient ID and Issuer of Patient ID are LO: at most 64 characters")


PatientPolicy = KeepPatientIds | AssignIssuer | MapToLocalPatient


def policy_detail(policy: PatientPolicy) -> dict[str, Any]:
    if isinstance(policy, AssignIssuer):
        return {"mode": "issuer", "issuer": policy.issuer}
    if isinstance(policy, MapToLocalPatient):
        return {"mode": "map", "patient_id": policy.patient_id, "issuer": policy.issuer,
                "patient_name": policy.patient_name, "birth_date": policy.birth_date, "sex": policy.sex,
                "source_patient_id": policy.source_patient_id}
    return {"mode": "keep"}


def text_value(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def changes_for(ds: Dataset, policy: PatientPolicy) -> dict[str, str]:
    """Keyword -> new value of the patient attributes ``policy`` replaces in ``ds``."""
    if isinstance(policy, AssignIssuer):
        return {} if text_value(ds, "IssuerOfPatientID") else {"IssuerOfPatientID": policy.issuer}
    if isinstance(policy, MapToLocalPatient):
        wanted = {"PatientID": policy.patient_id, "IssuerOfPatientID": policy.issuer, "PatientName": policy.patient_name,
                  "PatientBirthDate": policy.birth_date, "PatientSex": policy.sex}
        return {k: v for k, v in wanted.items() if v is not None and v != text_value(ds, k)}
    return {}


def _element(keyword: str, value: object) -> DataElement:
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return DataElement(tag, dictionary_VR(tag), value)


def coerce_patient(ds: Dataset, changes: dict[str, str], *, modifying_system: str, source: str,
                   when: _dt.datetime | None = None) -> bool:
    """Replace the patient attributes in ``changes`` in ``ds``, recording the prior values.

    PS3.3 C.12.1.1.9: one new item of Original Attributes Sequence (0400,0561), existing items
    kept, whose Modified Attributes Sequence (0400,0550) holds each replaced attribute with its
    prior value (an attribute that was absent or empty: zero length). Issuer of Patient ID goes
    with a replaced Patient ID even when unchanged (C.12.1.1.9, "more precisely identify the
    context"). A Patient ID moved to another ID is kept in Other Patient IDs Sequence. When a
    new value may not fit the data set's character set, the whole data set is decoded and
    written in UTF-8 (ISO_IR 192, PS3.5 6.1.2.3): the same characters, newly encoded, so the old
    Specific Character Set is not listed as a prior value (in an item it would declare the
    item's own encoding). Returns False when nothing changed.
    """
    if not changes:
        return False
    when = when or _dt.datetime.now().astimezone()
    touched = list(changes)
    if "PatientID" in changes:
        touched.append("IssuerOfPatientID")
        touched.append("OtherPatientIDsSequence")
    recode = any(not v.isascii() for v in changes.values()) and _charset_text(ds.get("SpecificCharacterSet")) != _UTF8
    if recode:
        ds.decode()  # every text value to str, so that all can be written again in UTF-8
    prior = Dataset()
    for keyword in dict.fromkeys(touched):
        if keyword in ds:
            prior[keyword] = copy.deepcopy(ds[keyword])
        else:
            prior[keyword] = _element(keyword, [] if keyword.endswith("Sequence") else None)
    if "PatientID" in changes:
        other = Dataset()
        other.PatientID = text_value(ds, "PatientID")
        other.IssuerOfPatientID = text_value(ds, "IssuerOfPatientID")
        other.TypeOfPatientID = "TEXT"
        items = list(ds.get("OtherPatientIDsSequence", []))
        if not any(text_value(i, "PatientID") == other.PatientID and text_value(i, "IssuerOfPatientID") == other.IssuerOfPatientID for i in items):
            items.append(other)
        ds.OtherPatientIDsSequence = DicomSequence(items)
    if recode:
        ds.SpecificCharacterSet = _UTF8
    for keyword, value in changes.items():
        ds[keyword] = _element(keyword, value)
    stamp = when.strftime("%Y%m%d%H%M%S.%f%z")
    item = Dataset()
    item.SourceOfPreviousValues = source[:64]
    item.AttributeModificationDateTime = stamp
    item.ModifyingSystem = modifying_system[:64]
    item.ReasonForTheAttributeModification = REASON_COERCE
    item.ModifiedAttributesSequence = DicomSequence([prior])
    ds.OriginalAttributesSequence = DicomSequence([*ds.get("OriginalAttributesSequence", []), item])
    ds.InstanceCoercionDateTime = stamp
    return True


def _charset_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in cast("Iterable[object]", value))
    return str(value)
