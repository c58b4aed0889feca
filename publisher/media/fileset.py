"""File-set naming: PS3.10 File IDs and the File-set ID.

PS3.10 8.2 / PS3.12: a File ID has at most 8 components of 1-8 characters from ``A-Z 0-9 _``
and no extension. We use a readable, stable hierarchy in DICOMDIR order::

    DICOM/P0000001/S0000001/SE000001/I0000001

numbered per volume in the order of the plan (patient, study, series, instance).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from collections.abc import Sequence

from publisher.media.model import MediaInstance, PatientKey

#: PS3.10 8.2: allowed File ID component characters.
_COMPONENT = re.compile(r"^[A-Z0-9_]{1,8}$")
MAX_COMPONENTS = 8
DICOM_FOLDER = "DICOM"


def valid_file_id(file_id: str) -> bool:
    """Whether ``file_id`` ("/"-separated) is a valid PS3.10 File ID."""
    parts = file_id.split("/")
    return 1 <= len(parts) <= MAX_COMPONENTS and all(_COMPONENT.match(p) for p in parts)


def assign_file_ids(instances: Sequence[MediaInstance]) -> dict[str, str]:
    """SOP Instance UID -> File ID for ``instances`` (already in DICOMDIR order)."""
    out: dict[str, str] = {}
    patients: dict[PatientKey, int] = {}
    studies: dict[str, int] = {}
    series: dict[str, int] = {}
    counts: dict[str, int] = {}
    study_count: dict[PatientKey, int] = {}
    series_count: dict[str, int] = {}
    for inst in instances:
        p = patients.setdefault(inst.patient_key, len(patients) + 1)
        if inst.study_instance_uid not in studies:
            study_count[inst.patient_key] = study_count.get(inst.patient_key, 0) + 1
            studies[inst.study_instance_uid] = study_count[inst.patient_key]
        s = studies[inst.study_instance_uid]
        if inst.series_instance_uid not in series:
            series_count[inst.study_instance_uid] = series_count.get(inst.study_instance_uid, 0) + 1
            series[inst.series_instance_uid] = series_count[inst.study_instance_uid]
        se = series[inst.series_instance_uid]
        counts[inst.series_instance_uid] = i = counts.get(inst.series_instance_uid, 0) + 1
        out[inst.sop_instance_uid] = f"{DICOM_FOLDER}/P{p:07d}/S{s:07d}/SE{se:06d}/I{i:07d}"
    return out


def _d_chars(text: str) -> str:
    """``text`` folded to ``A-Z 0-9 _`` (accents dropped, other characters to ``_``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9_]", "_", ascii_text.upper()).strip("_")


def file_set_id(
    instances: Sequence[MediaInstance], volume: int = 1, volumes: int = 1, created: _dt.date | None = None
) -> str:
    """A File-set ID (0004,1130): CS, at most 16 characters, also the ISO Volume Identifier.

    Made from the patient (``MULTI`` for several) and the creation date, plus the volume number
    for a set of several, e.g. ``PAT_CJK_260301`` or ``MULTI_260301_2``.
    """
    created = created or _dt.date.today()
    patients = {i.patient_key for i in instances}
    who = _d_chars(instances[0].patient_id) if len(patients) == 1 and instances else "MULTI"
    who = who or "PATIENT"
    suffix = created.strftime("%y%m%d") + (f"_{volume}" if volumes > 1 else "")
    who = who[: 16 - len(suffix) - 1].rstrip("_")
    return f"{who}_{suffix}"
