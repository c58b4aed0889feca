"""Issue 12: DICOMDIR keys formatted per their VR, for every record type, on every profile.

One instance per directory record type of :data:`RECORD_KEYS`, each with every key of its table
set, many to values real modalities send that break their VR (a DS float of 20 digits, an
ACR-NEMA date ``2020.01.02``, a time ``08:15:00``, a lower-case code string, descriptions
longer than LO allows), mastered on CD, DVD, BD and USB: dciodvfy finds no error in any DICOMDIR,
and the values are the instance's own where valid (checked with pydicom).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from publisher.demo import samples as S
from publisher.media import master
from publisher.media.dicomdir_keys import RECORD_KEYS, RECORD_TYPE_OF_SOP_CLASS
from publisher.media.model import MediaInstance
from publisher.media.vr_values import clean, date_string, decimal_string, integer_string, time_string
from tests.support import media_builders as builders
from tests.support.tools import dciodvfy_errors

_S = "1.2.840.10008.5.1.4.1.1."
#: dicom3tools 2022 does not know the TRACT record type of PS3.3 F.5 (Tractography Results;
#: pydicom's fileset.py writes it too): the one dciodvfy error that is dciodvfy's.
TRACT_UNKNOWN = "Error - Unrecognized enumerated value <TRACT> for value 1 of attribute <Directory Record Type>"
SOP_CLASS_OF: dict[str, str] = {
    "IMAGE": _S + "2", "SR DOCUMENT": _S + "88.11", "PRESENTATION": _S + "11.1", "WAVEFORM": _S + "9.1.1",
    "MEASUREMENT": _S + "78.1",
    **{rtype: uid for uid, rtype in reversed(list(RECORD_TYPE_OF_SOP_CLASS.items()))},
}


def _code() -> DicomSequence:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "18748-4", "LN", "Diagnostic imaging report"
    return DicomSequence([item])


def _odd_keys(rtype: str, n: int) -> Dataset:
    """Every key of ``rtype``'s table, with values that bend their VRs."""
    ds = Dataset()
    odd: dict[str, object] = {
        "ContentDate": "2020.01.02", "ContentTime": "08:15:00.1234567", "InstanceNumber": n,
        "ContentLabel": "label with spaces", "ContentDescription": "A description " * 8,
        "ContentCreatorName": "Doe^Jane", "CompletionFlag": "complete", "VerificationFlag": "unverified",
        "ConceptNameCodeSequence": _code(), "DocumentTitle": "Report", "MIMETypeOfEncapsulatedDocument": "application/pdf",
        "PresentationCreationDate": "20200102", "PresentationCreationTime": "081500",
        "DoseSummationType": "plan", "StructureSetLabel": "RS", "StructureSetDate": "2020-01-02",
        "StructureSetTime": "0815", "RTPlanLabel": "Plan 1", "RTPlanDate": "20200102", "RTPlanTime": "081500",
        "TreatmentDate": "20200102", "TreatmentTime": "081500", "ImageType": ["original", "primary"],
        "NumberOfFrames": "1", "Rows": 64, "Columns": 64, "DataPointRows": 1, "DataPointColumns": 512,
        "LossyImageCompressionRatio": [0.12345678901234567, 15.512], "CalibrationImage": "no",
    }
    for keyword, _ in RECORD_KEYS[rtype] + (("LossyImageCompressionRatio", "1C"), ("CalibrationImage", "1C")):
        if keyword in odd:
            setattr(ds, keyword, odd[keyword])
    image = Dataset()
    image.ReferencedSOPClassUID, image.ReferencedSOPInstanceUID = _S + "2", S.make_uid("refimage", n)
    if rtype == "PRESENTATION":
        ref = Dataset()
        ref.SeriesInstanceUID = S.make_uid("refseries", n)
        ref.ReferencedImageSequence = DicomSequence([image])
        ds.ReferencedSeriesSequence = DicomSequence([ref])
    if rtype == "SPECTROSCOPY":  # 1C: present when the instance references images (PS3.3 F.5.31)
        evidence = Dataset()
        evidence.StudyInstanceUID = S.make_uid("refstudy", n)
        series = Dataset()
        series.SeriesInstanceUID = S.make_uid("refseries", n)
        series.ReferencedSOPSequence = DicomSequence([image])
        evidence.ReferencedSeriesSequence = DicomSequence([series])
        ds.ReferencedImageEvidenceSequence = DicomSequence([evidence])
    return ds


@pytest.fixture(scope="module")
def every_record_type(tmp_path_factory: pytest.TempPathFactory) -> list[MediaInstance]:
    folder = tmp_path_factory.mktemp("records")
    (path,) = builders.write(S.build_study(S.StudySpec(S.ASCII_PATIENT, "rt", series=(S.SeriesSpec("cr", 1),)))[:1],
                             folder)
    (base,) = builders.read([path])
    out = []
    for n, rtype in enumerate(sorted(RECORD_KEYS), start=1):
        if rtype in ("PATIENT", "STUDY", "SERIES"):
            continue
        out.append(replace(
            base, sop_class_uid=SOP_CLASS_OF[rtype], sop_instance_uid=str(S.make_uid("rec", rtype)),
            series_instance_uid=str(S.make_uid("series", rtype)), series_number=n, instance_number=n,
            modality="ot ", study_date="2020.01.02", study_time="08:15", study_id="STUDY-ID-LONGER-THAN-16",
            accession_number="ACCESSION-NUMBER-TOO-LONG", study_description="Very long study description " * 4,
            series_description="Series " * 12, record_keys=_odd_keys(rtype, n),
        ))
    return out


@pytest.mark.parametrize("media", ["cd", "dvd", "bd", "usb"])
def test_every_record_type_is_dciodvfy_clean_on_every_medium(every_record_type: list[MediaInstance], media: str,
                                                             tmp_path: Path) -> None:
    (vol,) = master(every_record_type, media, tmp_path / "out")
    assert [e for e in dciodvfy_errors(vol.root / "DICOMDIR") if e != TRACT_UNKNOWN] == []
    records = pydicom.dcmread(vol.root / "DICOMDIR").DirectoryRecordSequence
    types = {r.DirectoryRecordType for r in records}
    assert types >= {r for r in RECORD_KEYS if r not in ("PATIENT", "STUDY", "SERIES")}
    study = next(r for r in records if r.DirectoryRecordType == "STUDY")
    assert study.StudyDate == "20200102" and study.StudyTime == "0815"  # normalised, not defaulted
    assert len(study.StudyDescription) == 64 and len(study.StudyID) == 16
    series = next(r for r in records if r.DirectoryRecordType == "SERIES")
    assert series.Modality == "OT"
    sr = next(r for r in records if r.DirectoryRecordType == "SR DOCUMENT")
    assert (sr.ContentDate, sr.ContentTime, sr.CompletionFlag) == ("20200102", "081500.123456", "COMPLETE")
    if media != "cd":
        image = next(r for r in records if r.DirectoryRecordType == "IMAGE")
        raw = image["LossyImageCompressionRatio"].value
        assert [float(v) for v in raw] == pytest.approx([0.12345678901234567, 15.512])


def test_values_are_the_instances_own_when_valid_and_normalised_when_not() -> None:
    assert decimal_string("15.5120") == "15.5120"  # the instance's own text, kept
    assert decimal_string(15.512) == "15.512"
    assert decimal_string(0.12345678901234567) is not None and len(decimal_string(0.12345678901234567) or "") <= 16
    assert decimal_string("abc") is None and decimal_string(float("nan")) is None
    assert integer_string("12.0") == "12" and integer_string(2**31) is None and integer_string("1A") is None
    assert date_string("1999.12.31") == "19991231" and date_string("20200230") is None
    assert time_string("08:15:00") == "081500" and time_string("081500.1234567") == "081500.123456"
    assert time_string("25") is None
    assert clean("CS", "ct ") == "CT" and clean("CS", ["original", "primary"]) == ["ORIGINAL", "PRIMARY"]
    assert clean("LO", "x" * 70) == "x" * 64 and clean("SH", "a\\b") == "a/b"
    assert clean("UI", "1.2.03") == "1.2.03"  # identifiers are never altered
