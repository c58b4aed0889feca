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

from publisher.dicomio.encode import explicit_header
from publisher.dicomio.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from publisher.dicomio.part10 import MEDIA_STORAGE_DIRECTORY
from publisher.dicomio.vr import CHARSET_VRS, NUMBER_FORMATS, TEXT_VRS
from publisher.media import vr_values
from publisher.media.dicomdir_keys import (
    DEFAULTS,
    invented_patient_id,
    IMAGE_KEYS_DVD,
    RECORD_KEYS,
    RECORD_TYPE_OF_SOP_CLASS,
    record_type,
)
from publisher.media.model import MediaError, MediaInstance, PatientKey

__all__ = ["DEFAULTS", "IMAGE_KEYS_DVD", "RECORD_KEYS", "RECORD_TYPE_OF_SOP_CLASS", "build_records", "record_type",
           "write_dicomdir"]

# --------------------------------------------------------------------------------------------
# Element encoding (PS3.5 7.1.2, Explicit VR Little Endian; VR tables in publisher.dicomio.vr)
# --------------------------------------------------------------------------------------------

_NUM_FMT = {vr: "<" + code for vr, code in NUMBER_FORMATS.items()}


@lru_cache(maxsize=None)
def _tag_vr(keyword: str) -> tuple[int, str]:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return tag, dictionary_VR(tag).split(" or ")[0]


def _header(tag: int, vr: str, length: int) -> bytes:
    try:
        return explicit_header(tag, vr, length)
    except ValueError as exc:
        raise MediaError(str(exc)) from None


def _text_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(_text_value(v) for v in cast("Iterable[Any]", value))
    if isinstance(value, float):
        return vr_values.decimal_string(value) or ""
    return str(value)


def encode_element(tag: int, vr: str, value: object) -> tuple[bytes, bool]:
    """Bytes of one element (not SQ) and whether its text needs a Specific Character Set."""
    if vr in TEXT_VRS:
        text = _text_value(value)
        wide = not text.isascii()
        raw = text.encode("utf-8") if wide else text.encode("ascii")
        if len(raw) % 2:
            raw += b"\0" if vr == "UI" else b" "
        return _header(tag, vr, len(raw)) + raw, wide and vr in CHARSET_VRS
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
    if elem.VR != "SQ" and (elem.VR in TEXT_VRS or elem.VR in _NUM_FMT):
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

    def add(self, keyword: str, value: object, vr: str | None = None) -> None:
        tag, known = _tag_vr(keyword)
        vr = vr or known
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


def _put(b: _Builder, keyword: str, ktype: str, value: object, inst: MediaInstance, pos: int,
         elem: DataElement | None = None) -> None:
    """Add ``keyword`` to the record: its value cleaned for its VR (:mod:`publisher.media.vr_values`)
    when valid, else the default of a Type 1 key, an empty Type 2 key, or nothing."""
    vr = elem.VR if elem is not None else _tag_vr(keyword)[1]
    if vr != "SQ":
        value = vr_values.clean(vr, value)
    if _present(value):
        if elem is not None and (vr == "SQ" or (vr not in TEXT_VRS and vr not in _NUM_FMT)):
            b.add_elem(elem)
        else:
            b.add(keyword, value, vr)
    elif ktype == "1":
        default = DEFAULTS[keyword]
        b.add(keyword, default(inst, pos) if callable(default) else default)
    elif ktype == "2":
        b.add(keyword, None if vr != "SQ" else [])


def _add_keys(b: _Builder, keys: Sequence[tuple[str, str]], source: Callable[[str], object],
              inst: MediaInstance, pos: int) -> None:
    for keyword, ktype in keys:
        _put(b, keyword, ktype, source(keyword), inst, pos)


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
        if keyword == "ReferencedImageEvidenceSequence":
            return _flat_references(keys.get(keyword))
        elem = keys.get(keyword)
        return None if elem is None else elem

    table = RECORD_KEYS[rtype]
    if rtype == "IMAGE" and dvd_keys:
        table = table + IMAGE_KEYS_DVD
    for keyword, ktype in table:
        elem = keys[keyword] if keyword in keys and keyword not in _REBUILT else None
        _put(b, keyword, ktype, source(keyword), inst, pos, elem)
    return _make_record(rtype, b.elements, b.wide)


#: Keys whose record value is built from the instance's, not copied.
_REBUILT = {"InstanceNumber", "ReferencedImageEvidenceSequence"}


def _flat_references(evidence: object) -> list[Dataset] | None:
    """The instance's Referenced Image Evidence Sequence (Hierarchical SOP Instance Reference
    Macro, PS3.3 Table 10-4) as the SPECTROSCOPY record takes it: SOP Instance Reference Macro
    items (PS3.3 F.5.31, Table 10-11)."""
    if not evidence:
        return None
    flat = []
    for study in cast("Iterable[Dataset]", evidence):
        for series in study.get("ReferencedSeriesSequence", []):
            for ref in series.get("ReferencedSOPSequence", []):
                if "ReferencedSOPClassUID" in ref and "ReferencedSOPInstanceUID" in ref:
                    item = Dataset()
                    item.ReferencedSOPClassUID = ref.ReferencedSOPClassUID
                    item.ReferencedSOPInstanceUID = ref.ReferencedSOPInstanceUID
                    flat.append(item)
    return flat or None


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
