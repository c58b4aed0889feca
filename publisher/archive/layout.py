"""Where an instance lives in the archive: ``<patient>/<study UID>/<series UID>/<SOP UID>.dcm``."""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def patient_dir(patient_id: str, issuer: str) -> str:
    """A readable, collision-free folder name for a patient (IDs may hold any character)."""
    readable = _UNSAFE.sub("_", patient_id).strip("._")[:32] or "NOID"
    digest = hashlib.sha1(f"{patient_id}\\{issuer}".encode()).hexdigest()[:8]
    return f"{readable}_{digest}"


def instance_path(patient_id: str, issuer: str, study_uid: str, series_uid: str, sop_uid: str) -> PurePosixPath:
    """The archive-relative path of an instance file (UIDs are already file-name safe)."""
    return PurePosixPath(patient_dir(patient_id, issuer), study_uid, series_uid, f"{sop_uid}.dcm")
