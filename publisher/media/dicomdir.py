"""The DICOMDIR (PS3.3 Annex F, PS3.10 8.6) written directly from :class:`MediaInstance` data.

No instance file is re-read and pydicom's ``FileSet`` (quadratic in the number of records) is
not used: each directory record is encoded once into bytes (Explicit VR Little Endian, defined
lengths), laid out depth first (patient, study, series, instance: DICOMDIR order), and its
three offset values are patched in place (PS3.3 F.3.2.2: offsets count bytes from the first byte
of the file, preamble included, to the Item tag of the record; 0 means none).

The rules are tables, as in DCMTK's ``dcddirif.cc``:

* :data:`RECORD_TYPE_OF_SOP_CLASS` / :func:`record_type` - SOP Class -> directory record type
  (PS3.3 F.5, PS3.4 Annex B);
* :data:`RECORD_KEYS` - directory record type -> the keys with their type (PS3.3 F.5.x tables);
* :data:`DEFAULTS` - the value written when a Type 1 key is missing from the source (documented
  in ``docs``; values chosen like dcm4chee-cdw and DCMTK ``dcmmkdir --invent``).
"""

from __future__ import annotations

import io
import struct
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element, write_file_meta_info
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from publisher.media.model import MediaError, MediaInstance, PatientKey

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
#: Our Implementation Class UID (PS3.7 D.3.3.2), UUID-derived (PS3.5 B.2).
IMPLEMENTATION_CLASS_UID = "2.25." + str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:disc-publisher:dicomdir").int)
IMPLEMENTATION_VERSION_NAME = "DISCPUB_01"

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
                     ("InstanceNumber", "1"), ("NumberOfFrames", "1"), ("Rows", "1"),
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

# --------------------------------------------------------------------------------------------
# Element encoding (PS3.5 7.1.2, Explicit VR Little Endian)
# --------------------------------------------------------------------------------------------

_LONG_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"}
_TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}
_CHARSET_VRS = {"LO", "LT", "PN", "SH", "ST", "UC", "UT"}  # VRs affected by Specific Character Set
_NUM_FMT = {"US": "<H", "UL": "<I", "SS": "<h", "SL": "<i", "FL": "<f", "FD": "<d"}


@lru_cache(maxsize=None)
def _tag_vr(keyword: str) -> tuple[int, str]:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return tag, dictionary_VR(tag).split(" or ")[0]


def _header(tag: int, vr: str, length: int) -> bytes:
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr.encode(), 0, length)
    if length > 0xFFFF:
        raise MediaError(f"value of ({tag >> 16:04X},{tag & 0xFFFF:04X}) too long for VR {vr}")
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), length)


def _text_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(_text_value(v) for v in cast("Iterable[Any]", value))
    if isinstance(value, float):
        return repr(value)[:16]
    return str(value)


def encode_element(tag: int, vr: str, value: object) -> tuple[bytes, bool]:
    """Bytes of one element (not SQ) and whether its text needs a Specific Character Set."""
    if vr in _TEXT_VRS:
        text = _text_value(value)
        wide = not text.isascii()
        raw = text.encode("utf-8") if wide else text.encode("ascii")
        if len(raw) % 2:
            raw += b"\0" if vr == "UI" else b" "
        return _header(tag, vr, len(raw)) + raw, wide and vr in _CHARSET_VRS
    if vr in _NUM_FMT:
        if value is None:
            values: object = []
        elif isinstance(value, (int, float)):
            values = [value]
        else:
            values = list(value)  # type: ignore[call-overload]
        raw = b"".join(struct.pack(_NUM_FMT[vr], v) for v in values)  # type: ignore[attr-defined]
        return _header(tag, vr, len(raw)) + raw, False
    raise TypeError(vr)


def _needs_charset(value: object) -> bool:
    if isinstance(value, Dataset):
        return any(_needs_charset(e.value) for e in value)
    if isinstance(value, (list, tuple)) or type(value).__name__ in ("MultiValue", "Sequence"):
        return any(_needs_charset(v) for v in cast("Iterable[Any]", value))
    if isinstance(value, (str,)) or type(value).__name__ == "PersonName":
        return not str(value).isascii()
    return False


def encode_dataset_element(elem: DataElement) -> tuple[bytes, bool]:
    """Bytes of an element taken from a pydicom Dataset (sequences through pydicom's writer)."""
    if elem.VR != "SQ" and (elem.VR in _TEXT_VRS or elem.VR in _NUM_FMT):
        value = elem.value
        return encode_element(elem.tag, elem.VR, value)
    wide = _needs_charset(elem.value)
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_data_element(fp, elem, ["utf-8"] if wide else ["iso8859"])
    return fp.getvalue(), wide


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class _Record:
    rtype: str
    elements: list[tuple[int, bytes]]
    wide: bool
    children: list["_Record"] = field(default_factory=list)


def _make_record(rtype: str, elements: list[tuple[int, bytes]], wide: bool) -> _Record:
    return _Record(rtype, elements, wide)


def _encode_body(rec: _Record) -> bytearray:
    """The record's item value with zero offsets; offsets are patched by :func:`_layout`."""
    parts: list[tuple[int, bytes]] = list(rec.elements)
    if rec.wide:
        parts.append((0x00080005, encode_element(0x00080005, "CS", "ISO_IR 192")[0]))
    parts.sort(key=lambda p: p[0])
    body = bytearray(_FIXED_PREFIX)
    body += encode_element(0x00041430, "CS", rec.rtype)[0]
    for _, raw in parts:
        body += raw
    return body


# (0004,1400) UL next, (0004,1410) US in-use FFFFH, (0004,1420) UL lower level.
_FIXED_PREFIX = (
    encode_element(0x00041400, "UL", 0)[0]
    + encode_element(0x00041410, "US", 0xFFFF)[0]
    + encode_element(0x00041420, "UL", 0)[0]
)
_NEXT_AT = 8  # value offset of (0004,1400) in the body
_LOWER_AT = 12 + 10 + 8  # value offset of (0004,1420) in the body


class _Builder:
    """Collects the keys of one record, tracking whether any text is non-ASCII."""

    __slots__ = ("elements", "wide")

    def __init__(self) -> None:
        self.elements: list[tuple[int, bytes]] = []
        self.wide = False

    def add(self, keyword: str, value: object) -> None:
        tag, vr = _tag_vr(keyword)
        if vr == "SQ":
            elem = DataElement(tag, "SQ", value if value is not None else [])
            raw, wide = encode_dataset_element(elem)
        else:
            raw, wide = encode_element(tag, vr, value)
        self.elements.append((tag, raw))
        self.wide |= wide

    def add_elem(self, elem: DataElement) -> None:
        raw, wide = encode_dataset_element(elem)
        self.elements.append((elem.tag, raw))
        self.wide |= wide


def _present(value: object) -> bool:
    return value is not None and value != "" and not (isinstance(value, (list, tuple)) and not value)


def _add_keys(b: _Builder, keys: Sequence[tuple[str, str]], source: Callable[[str], object],
              inst: MediaInstance, pos: int) -> None:
    for keyword, ktype in keys:
        value = source(keyword)
        if _present(value):
            b.add(keyword, value)
        elif ktype == "1":
            default = DEFAULTS[keyword]
            b.add(keyword, default(inst, pos) if callable(default) else default)
        elif ktype == "2":
            b.add(keyword, None if _tag_vr(keyword)[1] != "SQ" else [])


def _patient_record(inst: MediaInstance, unidentified: int = 1) -> _Record:
    """``unidentified``: this patient's number among those without a Patient ID on the disc."""
    b = _Builder()
    values = {"PatientName": inst.patient_name, "PatientID": inst.patient_id,
              "IssuerOfPatientID": inst.issuer_of_patient_id, "PatientBirthDate": inst.patient_birth_date,
              "PatientSex": inst.patient_sex}
    _add_keys(b, RECORD_KEYS["PATIENT"], values.get, inst, unidentified)
    return _make_record("PATIENT", b.elements, b.wide)


def _study_record(inst: MediaInstance) -> _Record:
    b = _Builder()
    values = {"StudyDate": inst.study_date, "StudyTime": inst.study_time, "AccessionNumber": inst.accession_number,
              "ReferringPhysicianName": inst.referring_physician_name, "StudyDescription": inst.study_description,
              "StudyInstanceUID": inst.study_instance_uid, "StudyID": inst.study_id}
    _add_keys(b, RECORD_KEYS["STUDY"], values.get, inst, 1)
    return _make_record("STUDY", b.elements, b.wide)


def _series_record(inst: MediaInstance, pos: int) -> _Record:
    b = _Builder()
    values = {"Modality": inst.modality, "SeriesDescription": inst.series_description,
              "SeriesInstanceUID": inst.series_instance_uid, "SeriesNumber": inst.series_number}
    _add_keys(b, RECORD_KEYS["SERIES"], values.get, inst, pos)
    return _make_record("SERIES", b.elements, b.wide)


def _instance_record(inst: MediaInstance, file_id: str, pos: int, dvd_keys: bool) -> _Record:
    rtype = record_type(inst.sop_class_uid)
    keys = inst.record_keys
    b = _Builder()
    b.add("ReferencedFileID", file_id.split("/"))
    b.add("ReferencedSOPClassUIDInFile", inst.sop_class_uid)
    b.add("ReferencedSOPInstanceUIDInFile", inst.sop_instance_uid)
    b.add("ReferencedTransferSyntaxUIDInFile", inst.transfer_syntax_uid)

    def source(keyword: str) -> object:
        if keyword == "InstanceNumber":
            return inst.instance_number if inst.instance_number is not None else keys.get("InstanceNumber")
        if keyword == "VerificationDateTime" and "VerificationDateTime" not in keys:
            if keys.get("VerificationFlag") == "VERIFIED":
                observers = keys.get("VerifyingObserverSequence") or []
                return observers[-1].get("VerificationDateTime") if observers else None
            return None
        elem = keys.get(keyword)
        return None if elem is None else elem

    table = RECORD_KEYS[rtype]
    if rtype == "IMAGE" and dvd_keys:
        table = table + IMAGE_KEYS_DVD
    for keyword, ktype in table:
        value = source(keyword)
        if _present(value):
            if keyword in keys and keyword != "InstanceNumber":
                b.add_elem(keys[keyword])
            else:
                b.add(keyword, value)
        elif ktype == "1":
            if keyword == "VerificationDateTime":
                continue
            default = DEFAULTS[keyword]
            b.add(keyword, default(inst, pos) if callable(default) else default)
        elif ktype == "2":
            b.add(keyword, [] if _tag_vr(keyword)[1] == "SQ" else None)
    return _make_record(rtype, b.elements, b.wide)


def build_records(instances: Sequence[MediaInstance], file_ids: dict[str, str], *, dvd_keys: bool = False) -> list[_Record]:
    """The PATIENT records (with their subtrees) for ``instances``, in the given order."""
    patients: dict[PatientKey, _Record] = {}
    studies: dict[str, _Record] = {}
    series: dict[str, _Record] = {}
    ids: dict[str, PatientKey] = {}
    for inst in instances:
        pkey = inst.patient_key
        prec = patients.get(pkey)
        if prec is None:
            unidentified = 1 + sum(1 for k in patients if k[2])
            prec = patients[pkey] = _patient_record(inst, unidentified)
            pid = invented_patient_id(unidentified) if pkey[2] else inst.patient_id
            if ids.setdefault(pid, pkey) != pkey:
                raise MediaError(f"Patient ID {pid!r} used by two issuers; a DICOMDIR needs unique "
                                 "Patient IDs (PS3.3 F.5.1): reconcile the patients first")
        strec = studies.get(inst.study_instance_uid)
        if strec is None:
            strec = studies[inst.study_instance_uid] = _study_record(inst)
            prec.children.append(strec)
        serec = series.get(inst.series_instance_uid)
        if serec is None:
            serec = series[inst.series_instance_uid] = _series_record(inst, len(strec.children) + 1)
            strec.children.append(serec)
        serec.children.append(_instance_record(inst, file_ids[inst.sop_instance_uid], len(serec.children) + 1, dvd_keys))
    return list(patients.values())


def _layout(roots: list[_Record], start: int) -> tuple[list[bytearray], int, int]:
    """Encode every record depth first, patch offsets; returns items, first and last root offset."""
    items: list[bytearray] = []
    pos = start

    def visit(siblings: list[_Record]) -> list[tuple[int, bytearray]]:
        nonlocal pos
        placed = []
        for rec in siblings:
            body = _encode_body(rec)
            item = bytearray(struct.pack("<HHI", 0xFFFE, 0xE000, len(body))) + body
            offset = pos
            items.append(item)
            pos += len(item)
            placed.append((offset, item))
            if rec.children:
                first_child = pos
                visit(rec.children)
                struct.pack_into("<I", item, 8 + _LOWER_AT, first_child)
        for (_, item), (next_offset, _) in zip(placed, placed[1:]):
            struct.pack_into("<I", item, 8 + _NEXT_AT, next_offset)
        return placed

    placed = visit(roots)
    return items, placed[0][0], placed[-1][0]


def write_dicomdir(
    path: Path,
    instances: Sequence[MediaInstance],
    file_ids: dict[str, str],
    *,
    file_set_id: str,
    file_set_uid: str | None = None,
    dvd_keys: bool = False,
) -> int:
    """Write the DICOMDIR of ``instances`` (in DICOMDIR order) to ``path``; returns its size.

    ``file_ids`` maps SOP Instance UID -> File ID ("/"-separated, PS3.10 8.2). The file is
    Explicit VR Little Endian with the File-set UID as Media Storage SOP Instance UID, File-set
    Consistency Flag 0000H and Record In-use Flag FFFFH (PS3.3 F.3).
    """
    if not instances:
        raise MediaError("a DICOMDIR with no records is not allowed (PS3.3 F.3.2.1)")
    if len(file_set_id) > 16:
        raise MediaError(f"File-set ID {file_set_id!r} longer than 16 characters")
    roots = build_records(instances, file_ids, dvd_keys=dvd_keys)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(MEDIA_STORAGE_DIRECTORY)
    meta.MediaStorageSOPInstanceUID = UID(file_set_uid or generate_uid(prefix=None))
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    head = DicomBytesIO()
    head.is_little_endian, head.is_implicit_VR = True, False
    head.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(head, meta, enforce_standard=True)
    head_bytes = head.getvalue()

    fsid = encode_element(0x00041130, "CS", file_set_id)[0]
    # (0004,1200) and (0004,1202) UL, (0004,1212) US, then the SQ header (12 bytes).
    start = len(head_bytes) + len(fsid) + 12 + 12 + 10 + 12
    items, first, last = _layout(roots, start)
    seq_len = sum(len(i) for i in items)

    with open(path, "wb") as fh:
        out = io.BufferedWriter(fh, 1 << 20) if not isinstance(fh, io.BufferedWriter) else fh
        out.write(head_bytes)
        out.write(fsid)
        out.write(encode_element(0x00041200, "UL", first)[0])
        out.write(encode_element(0x00041202, "UL", last)[0])
        out.write(encode_element(0x00041212, "US", 0)[0])
        out.write(_header(0x00041220, "SQ", seq_len))
        for item in items:
            out.write(item)
        out.flush()
        size = fh.tell()
    if size != start + seq_len:
        raise MediaError("DICOMDIR layout error: size does not match offsets")
    return size
