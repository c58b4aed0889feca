"""The instance-level keys a DICOMDIR lower-level record needs, kept in the index.

PS3.3 Annex F (F.5) lists, per directory record type, the keys a record must carry. The disc
writer builds the DICOMDIR from the index (never by re-reading every file), so at ingest we copy
these elements, when the instance has them, into the index as DICOM JSON (PS3.18 F.2).
Patient, study and series keys live in their own columns and are not repeated here.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydicom.dataset import Dataset

if TYPE_CHECKING:
    from publisher.archive.raw_values import RawValues

#: (tag, keyword) of every element any lower-level record type of Annex F.5 may need.
RECORD_KEY_TAGS: tuple[tuple[int, str], ...] = (
    (0x00080008, "ImageType"),
    (0x00080012, "InstanceCreationDate"),
    (0x00080013, "InstanceCreationTime"),
    (0x00080023, "ContentDate"),
    (0x00080033, "ContentTime"),
    (0x0008002A, "AcquisitionDateTime"),
    (0x00081115, "ReferencedSeriesSequence"),
    (0x00081140, "ReferencedImageSequence"),
    (0x00082111, "DerivationDescription"),
    (0x00180050, "SliceThickness"),
    (0x00200012, "AcquisitionNumber"),
    (0x00200032, "ImagePositionPatient"),
    (0x00200037, "ImageOrientationPatient"),
    (0x00200052, "FrameOfReferenceUID"),
    (0x00201041, "SliceLocation"),
    (0x00200020, "PatientOrientation"),
    (0x00280002, "SamplesPerPixel"),
    (0x00280004, "PhotometricInterpretation"),
    (0x00280008, "NumberOfFrames"),
    (0x00280010, "Rows"),
    (0x00280011, "Columns"),
    (0x00280030, "PixelSpacing"),
    (0x00280100, "BitsAllocated"),
    (0x00282110, "LossyImageCompression"),
    (0x00282112, "LossyImageCompressionRatio"),
    (0x00282114, "LossyImageCompressionMethod"),
    (0x00283003, "LUTExplanation"),
    (0x00500004, "CalibrationImage"),
    (0x00400555, "AcquisitionContextSequence"),
    (0x0040A043, "ConceptNameCodeSequence"),
    (0x0040A073, "VerifyingObserverSequence"),
    (0x0040A030, "VerificationDateTime"),
    (0x0040A032, "ObservationDateTime"),
    (0x0040A491, "CompletionFlag"),
    (0x0040A493, "VerificationFlag"),
    (0x0042_0010, "DocumentTitle"),
    (0x00420012, "MIMETypeOfEncapsulatedDocument"),
    (0x00700080, "ContentLabel"),
    (0x00700081, "ContentDescription"),
    (0x00700082, "PresentationCreationDate"),
    (0x00700083, "PresentationCreationTime"),
    (0x00700084, "ContentCreatorName"),
    (0x30040004, "DoseType"),
    (0x3004000A, "DoseSummationType"),
    (0x30060002, "StructureSetLabel"),
    (0x30060008, "StructureSetDate"),
    (0x30060009, "StructureSetTime"),
    (0x300A0002, "RTPlanLabel"),
    (0x300A0006, "RTPlanDate"),
    (0x300A0007, "RTPlanTime"),
    (0x30080250, "TreatmentDate"),
    (0x30080251, "TreatmentTime"),
    (0x00289001, "DataPointRows"),
    (0x00289002, "DataPointColumns"),
    (0x00080016, "SOPClassUID"),
)

_TAGS_WITH_CHARSET: tuple[int, ...] = tuple(t for t, _ in RECORD_KEY_TAGS) + (0x00080005,)

#: Sequences are kept only when small; a Referenced Series Sequence of a huge presentation
#: state is still kept whole because PRESENTATION records need it (PS3.3 F.5.23).
_MAX_SEQUENCE_BYTES = 64 * 1024


def extract(ds: Dataset) -> Dataset:
    """The record keys present in ``ds`` (a shallow copy; pixel data is never touched)."""
    out = Dataset()
    for tag, _ in RECORD_KEY_TAGS:
        if tag in ds:
            out[tag] = ds[tag]
    if "SpecificCharacterSet" in ds:
        out.SpecificCharacterSet = ds.SpecificCharacterSet
    return out


def to_json(keys: Dataset) -> str:
    """Serialise record keys as DICOM JSON (PS3.18 F.2), dropping oversize sequences."""
    return _dump(keys.to_json_dict(bulk_data_threshold=4096))


def to_json_raw(values: "RawValues") -> str:
    """The record keys of a just-read header as DICOM JSON, decoded from its raw elements
    (same result as ``to_json(extract(ds))``, without converting every element first)."""
    data: dict[str, Any] = {}
    for tag in _TAGS_WITH_CHARSET:
        if values.get(tag) is not None:
            data[f"{tag:08X}"] = values.json_entry(tag)
    return _dump(data)


def _dump(data: dict[str, Any]) -> str:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if len(text) <= _MAX_SEQUENCE_BYTES:
        return text
    for tag in list(data):
        if data[tag].get("vr") == "SQ" and tag != "00081115":
            del data[tag]
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def from_json(text: str | None) -> Dataset:
    """Record keys back as a pydicom Dataset (empty when the index holds none)."""
    if not text:
        return Dataset()
    return Dataset.from_json(text)
