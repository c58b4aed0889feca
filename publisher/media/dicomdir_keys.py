"""The tables of the DICOMDIR: which record type an instance gets and which keys each carries.

As DCMTK's ``dcddirif.cc`` keeps them: SOP Class -> directory record type (PS3.3 F.5, PS3.4
Annex B), record type -> keys with their type (PS3.3 F.5.x tables), and the value written when
a Type 1 key is missing from the source (values chosen like dcm4chee-cdw and DCMTK
``dcmmkdir --invent``; documented in docs/conformance.md).
"""

from __future__ import annotations

from pydicom.dataset import Dataset

# --------------------------------------------------------------------------------------------
# SOP Class -> directory record type (PS3.3 F.5; PS3.4 B.5 lists the classes)
# --------------------------------------------------------------------------------------------

_S = "1.2.840.10008.5.1.4.1.1."
RECORD_TYPE_OF_SOP_CLASS: dict[str, str] = {
    _S + "88.59": "KEY OBJECT DOC",
    _S + "104.1": "ENCAP DOC",  # PDF
    _S + "104.2": "ENCAP DOC",  # CDA
    _S + "104.3": "ENCAP DOC",  # STL
    _S + "104.4": "ENCAP DOC",  # OBJ
    _S + "104.5": "ENCAP DOC",  # MTL
    _S + "481.2": "RT DOSE",
    _S + "481.3": "RT STRUCTURE SET",
    _S + "481.5": "RT PLAN",
    _S + "481.8": "RT PLAN",  # RT Ion Plan
    _S + "481.4": "RT TREAT RECORD",  # Beams Treatment Record
    _S + "481.6": "RT TREAT RECORD",  # Brachy Treatment Record
    _S + "481.7": "RT TREAT RECORD",  # Treatment Summary Record
    _S + "481.9": "RT TREAT RECORD",  # RT Ion Beams Treatment Record
    _S + "4.2": "SPECTROSCOPY",  # MR Spectroscopy
    _S + "66": "RAW DATA",
    _S + "66.1": "REGISTRATION",
    _S + "66.3": "REGISTRATION",  # Deformable Spatial Registration
    _S + "66.2": "FIDUCIAL",
    _S + "66.5": "SURFACE",  # Surface Segmentation
    _S + "66.6": "TRACT",  # Tractography Results
    _S + "67": "VALUE MAP",  # Real World Value Mapping
}

#: SOP Class prefixes that share one record type (PS3.4 B.5 families).
_RECORD_TYPE_OF_PREFIX: tuple[tuple[str, str], ...] = (
    (_S + "88.", "SR DOCUMENT"),  # every SR storage class except KOS (above)
    (_S + "11.", "PRESENTATION"),  # softcopy presentation states
    (_S + "9.", "WAVEFORM"),
    (_S + "78.", "MEASUREMENT"),  # ophthalmic measurements
)


def record_type(sop_class_uid: str) -> str:
    """The directory record type for an instance of ``sop_class_uid`` (IMAGE when no rule)."""
    found = RECORD_TYPE_OF_SOP_CLASS.get(sop_class_uid)
    if found:
        return found
    for prefix, rtype in _RECORD_TYPE_OF_PREFIX:
        if sop_class_uid.startswith(prefix):
            return rtype
    return "IMAGE"


# --------------------------------------------------------------------------------------------
# Record type -> keys (PS3.3 F.5 tables). "1" required with a value (DEFAULTS when missing),
# "2" required (empty when missing), "1C"/"3" written when the source has them.
# --------------------------------------------------------------------------------------------

_CONTENT_LABELLED = (("ContentDate", "1"), ("ContentTime", "1"), ("InstanceNumber", "1"),
                     ("ContentLabel", "1"), ("ContentDescription", "2"), ("ContentCreatorName", "2"))

RECORD_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "PATIENT": (("PatientName", "2"), ("PatientID", "1"), ("IssuerOfPatientID", "3"),
                ("PatientBirthDate", "3"), ("PatientSex", "3")),
    "STUDY": (("StudyDate", "1"), ("StudyTime", "1"), ("AccessionNumber", "2"),
              ("ReferringPhysicianName", "3"), ("StudyDescription", "2"),
              ("StudyInstanceUID", "1"), ("StudyID", "1")),
    "SERIES": (("Modality", "1"), ("SeriesDescription", "3"), ("SeriesInstanceUID", "1"),
               ("SeriesNumber", "1")),
    "IMAGE": (("InstanceNumber", "1"),),
    "SR DOCUMENT": (("ContentDate", "1"), ("ContentTime", "1"), ("InstanceNumber", "1"),
                    ("VerificationDateTime", "1C"), ("ConceptNameCodeSequence", "1"),
                    ("CompletionFlag", "1"), ("VerificationFlag", "1")),
    "KEY OBJECT DOC": (("ContentDate", "1"), ("ContentTime", "1"), ("InstanceNumber", "1"),
                       ("ConceptNameCodeSequence", "1")),
    "PRESENTATION": (("ReferencedSeriesSequence", "1C"), ("InstanceNumber", "1"),
                     ("ContentLabel", "1"), ("ContentDescription", "2"),
                     ("PresentationCreationDate", "1"), ("PresentationCreationTime", "1"),
                     ("ContentCreatorName", "2")),
    "ENCAP DOC": (("ContentDate", "2"), ("ContentTime", "2"), ("InstanceNumber", "1"),
                  ("DocumentTitle", "2"), ("ConceptNameCodeSequence", "2"),
                  ("MIMETypeOfEncapsulatedDocument", "1")),
    "WAVEFORM": (("ContentDate", "1"), ("ContentTime", "1"), ("InstanceNumber", "1")),
    "RT DOSE": (("InstanceNumber", "1"), ("DoseSummationType", "1")),
    "RT STRUCTURE SET": (("InstanceNumber", "1"), ("StructureSetLabel", "1"),
                         ("StructureSetDate", "2"), ("StructureSetTime", "2")),
    "RT PLAN": (("InstanceNumber", "1"), ("RTPlanLabel", "1"), ("RTPlanDate", "2"), ("RTPlanTime", "2")),
    "RT TREAT RECORD": (("InstanceNumber", "1"), ("TreatmentDate", "2"), ("TreatmentTime", "2")),
    "SPECTROSCOPY": (("ImageType", "1"), ("ContentDate", "1"), ("ContentTime", "1"),
                     ("InstanceNumber", "1"), ("ReferencedImageEvidenceSequence", "1C"),
                     ("NumberOfFrames", "1"), ("Rows", "1"),
                     ("Columns", "1"), ("DataPointRows", "1"), ("DataPointColumns", "1")),
    "RAW DATA": (("ContentDate", "1"), ("ContentTime", "1"), ("InstanceNumber", "2")),
    "REGISTRATION": _CONTENT_LABELLED,
    "FIDUCIAL": _CONTENT_LABELLED,
    "VALUE MAP": _CONTENT_LABELLED,
    "SURFACE": _CONTENT_LABELLED,
    "MEASUREMENT": _CONTENT_LABELLED,
    "TRACT": _CONTENT_LABELLED,
}

#: Extra IMAGE record keys of the DVD/BD/USB general purpose profiles (PS3.11 D.3.3, as checked
#: by DCMTK dcddirif.cc for those profiles): Rows and Columns Type 1, the others when present.
IMAGE_KEYS_DVD: tuple[tuple[str, str], ...] = (
    ("ImageType", "1C"), ("ReferencedImageSequence", "1C"), ("Rows", "1"), ("Columns", "1"),
    ("CalibrationImage", "1C"), ("LossyImageCompressionRatio", "1C"),
)


def _concept(code: str, scheme: str, meaning: str) -> list[Dataset]:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = code, scheme, meaning
    return [item]


def invented_patient_id(n: int) -> str:
    """The Patient ID of the ``n``-th patient without one on a disc: UNKNOWN, UNKNOWN2, ..."""
    return "UNKNOWN" if n == 1 else f"UNKNOWN{n}"


#: Values written for a missing Type 1 key. Callables receive the instance and its position
#: (1-based) in its series.
DEFAULTS: dict[str, object] = {
    # Patients without a Patient ID are one per study (publisher.archive.identity); each gets its
    # own invented ID so the PATIENT records stay apart and unique (PS3.3 F.5.1).
    "PatientID": lambda inst, pos: invented_patient_id(pos),
    "StudyDate": "19000101",
    "StudyTime": "000000",
    "StudyID": "0",
    "StudyInstanceUID": "",  # never missing: MediaInstance requires it
    "Modality": "OT",
    "SeriesNumber": 0,
    "InstanceNumber": lambda inst, pos: pos,
    "ContentDate": lambda inst, pos: inst.study_date or "19000101",
    "ContentTime": lambda inst, pos: inst.study_time or "000000",
    "PresentationCreationDate": lambda inst, pos: inst.study_date or "19000101",
    "PresentationCreationTime": lambda inst, pos: inst.study_time or "000000",
    "ContentLabel": "UNNAMED",
    "CompletionFlag": "PARTIAL",
    "VerificationFlag": "UNVERIFIED",
    "ConceptNameCodeSequence": lambda inst, pos: _concept("121181", "DCM", "Dicom Object Catalog")
    if record_type(inst.sop_class_uid) == "KEY OBJECT DOC" else _concept("18748-4", "LN", "Diagnostic imaging report"),
    "MIMETypeOfEncapsulatedDocument": lambda inst, pos: _MIME.get(inst.sop_class_uid, "application/octet-stream"),
    "DoseSummationType": "PLAN",
    "StructureSetLabel": "UNNAMED",
    "RTPlanLabel": "UNNAMED",
    "ImageType": "ORIGINAL\\PRIMARY",
    "NumberOfFrames": 1,
    "Rows": 0,
    "Columns": 0,
    "DataPointRows": 0,
    "DataPointColumns": 0,
}

_MIME: dict[str, str] = {_S + "104.1": "application/pdf", _S + "104.2": "text/XML", _S + "104.3": "model/stl",
         _S + "104.4": "model/obj", _S + "104.5": "model/mtl"}
