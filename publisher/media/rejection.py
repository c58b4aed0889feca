"""Rejected instances (IHE IOCM): what Key Object Selection rejection notes take off a disc.

A rejection note is a KOS document (PS3.3 A.35.4) whose Document Title (Concept Name Code
Sequence) is one of the CID 7011 "Rejected for ..." codes; the instances it references in its
Current Requested Procedure Evidence Sequence (and content items) are rejected. Neither those
instances nor the note itself are burned.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.dataset import Dataset

KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"

#: PS3.16 CID 7011 Rejected for Quality Reasons / Patient Safety / Incorrect MWL Entry /
#: Data Retention Policy Expired (all DCM).
REJECTION_TITLES: dict[str, str] = {
    "113001": "Rejected for Quality Reasons",
    "113037": "Rejected for Patient Safety Reasons",
    "113038": "Incorrect Modality Worklist Entry",
    "113039": "Data Retention Policy Expired",
}


def is_rejection_note(ds: Dataset) -> bool:
    """Whether ``ds`` (a KOS data set, or its record keys) is an IOCM rejection note."""
    sop_class = ds.get("SOPClassUID")
    if sop_class is not None and str(sop_class) != KEY_OBJECT_SELECTION:
        return False
    titles = ds.get("ConceptNameCodeSequence") or []
    return any(
        str(t.get("CodeValue", "")) in REJECTION_TITLES and str(t.get("CodingSchemeDesignator", "")) == "DCM"
        for t in titles
    )


def _referenced(ds: Dataset) -> Iterable[str]:
    for study in ds.get("CurrentRequestedProcedureEvidenceSequence") or []:
        for series in study.get("ReferencedSeriesSequence") or []:
            for ref in series.get("ReferencedSOPSequence") or []:
                if "ReferencedSOPInstanceUID" in ref:
                    yield str(ref.ReferencedSOPInstanceUID)
    for item in ds.get("ContentSequence") or []:
        for ref in item.get("ReferencedSOPSequence") or []:
            if "ReferencedSOPInstanceUID" in ref:
                yield str(ref.ReferencedSOPInstanceUID)


def rejected_uids(notes: Iterable[Dataset]) -> set[str]:
    """SOP Instance UIDs rejected by the rejection notes among ``notes`` (others are ignored)."""
    out: set[str] = set()
    for ds in notes:
        if is_rejection_note(ds):
            out.update(_referenced(ds))
    return out
