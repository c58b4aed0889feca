"""Acceptance 1: DCMTK findscu against our C-FIND SCP, every model and level, on every backend.

Wildcards, date ranges, UID lists and non-ASCII names (UTF-8 and Latin-1 queries); results and
the Number of ... Related ... counts match what was stored (PS3.4 C.2.2.2, C.6)."""

from __future__ import annotations

from pathlib import Path

from publisher.service import Service
from tests.support.tools import require_tool
from tests.support.qr_studies import STUDIES, findscu

CT_HEAD, MR_SPINE, MR_KNEE, CR_CHEST, CT_ABD = (s.uid for s in STUDIES)


def _values(responses: list, keyword: str) -> list[str]:
    return sorted(str(r.get(keyword, "")) for r in responses)


def test_findscu_every_model_and_level(loaded_service: Service, tmp_path: Path) -> None:
    require_tool("findscu")
    port = loaded_service.settings.dicom.port
    out = tmp_path / "rsp"

    def find(model: str, *keys: str | bytes) -> list:
        result = findscu(port, model, keys, out)
        assert result.returncode == 0, result.stderr
        return result.responses

    # -- Patient Root, PATIENT: counts, UTF-8 and Latin-1 queries find the same Latin-1 name
    rsp = find("P", "QueryRetrieveLevel=PATIENT", "PatientName=*", "PatientID", "PatientBirthDate", "PatientSex",
               "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries", "NumberOfPatientRelatedInstances")
    by_id = {r.PatientID: r for r in rsp}
    assert sorted(by_id) == ["PAT-CJK", "PAT-CYR", "PAT-LAT1", "PAT-SMITH"]
    lat = by_id["PAT-LAT1"]
    assert (lat.NumberOfPatientRelatedStudies, lat.NumberOfPatientRelatedSeries, lat.NumberOfPatientRelatedInstances) == (2, 3, 6)
    assert str(lat.PatientName) == "Müller^Jürgen" and lat.PatientBirthDate == "19561103" and lat.PatientSex == "M"
    assert str(by_id["PAT-CYR"].PatientName) == "Иванова^Мария" and str(by_id["PAT-CJK"].PatientName) == "山田^太郎"
    assert by_id["PAT-CYR"].NumberOfPatientRelatedInstances == 3

    utf8 = find("P", "QueryRetrieveLevel=PATIENT", "SpecificCharacterSet=ISO_IR 192", "PatientName=MÜLLER*", "PatientID")
    assert _values(utf8, "PatientID") == ["PAT-LAT1"]
    latin1 = find("P", b"QueryRetrieveLevel=PATIENT", b"SpecificCharacterSet=ISO_IR 100", "PatientName=m?ller^jürgen".encode("latin-1"), b"PatientID")
    assert _values(latin1, "PatientID") == ["PAT-LAT1"]
    assert str(latin1[0].PatientName) == "Müller^Jürgen"
    for pattern, expected in (("иван*", "PAT-CYR"), ("*太郎", "PAT-CJK"), ("山田^太郎", "PAT-CJK")):
        rsp = find("P", "QueryRetrieveLevel=PATIENT", "SpecificCharacterSet=ISO_IR 192", f"PatientName={pattern}", "PatientID")
        assert _values(rsp, "PatientID") == [expected], pattern
    assert find("P", "QueryRetrieveLevel=PATIENT", "PatientName=Mueller*", "PatientID") == []

    # -- Patient Root, STUDY / SERIES / IMAGE under one patient
    rsp = find("P", "QueryRetrieveLevel=STUDY", "PatientID=PAT-LAT1", "StudyInstanceUID", "StudyDate=20260101-",
               "ModalitiesInStudy", "InstitutionName", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
               "StudyDescription", "AccessionNumber", "StudyID", "ReferringPhysicianName")
    assert len(rsp) == 1
    st = rsp[0]
    assert st.StudyInstanceUID == CT_HEAD and list(st.ModalitiesInStudy) == ["CT", "SR"]
    assert (st.NumberOfStudyRelatedSeries, st.NumberOfStudyRelatedInstances) == (2, 4)
    assert (st.InstitutionName, st.StudyDescription, st.AccessionNumber, st.StudyID) == ("Klinik Süd", "CT Schädel", "ACC1001", "11")
    assert str(st.ReferringPhysicianName) == "Referrer^Rita"

    rsp = find("P", "QueryRetrieveLevel=SERIES", "PatientID=PAT-LAT1", f"StudyInstanceUID={CT_HEAD}", "SeriesInstanceUID",
               "Modality", "SeriesNumber", "SeriesDescription", "SeriesDate", "NumberOfSeriesRelatedInstances")
    assert sorted((r.Modality, r.SeriesNumber, r.NumberOfSeriesRelatedInstances, r.SeriesDate) for r in rsp) == [
        ("CT", 1, 3, "20260105"), ("SR", 90, 1, "20260105")]
    ct_series = next(r.SeriesInstanceUID for r in rsp if r.Modality == "CT")

    rsp = find("P", "QueryRetrieveLevel=IMAGE", "PatientID=PAT-LAT1", f"StudyInstanceUID={CT_HEAD}",
               f"SeriesInstanceUID={ct_series}", "SOPInstanceUID", "SOPClassUID", "InstanceNumber")
    assert [r.InstanceNumber for r in rsp] == [1, 2, 3] and {r.SOPClassUID for r in rsp} == {"1.2.840.10008.5.1.4.1.1.2"}
    two = "\\".join(r.SOPInstanceUID for r in rsp[:2])
    rsp = find("P", "QueryRetrieveLevel=IMAGE", "PatientID=PAT-LAT1", f"StudyInstanceUID={CT_HEAD}",
               f"SeriesInstanceUID={ct_series}", f"SOPInstanceUID={two}", "InstanceNumber")
    assert [r.InstanceNumber for r in rsp] == [1, 2]

    # -- Study Root: date ranges (closed, open both ways, single), UID lists, wildcards, modalities
    def studies(*keys: str) -> list[str]:
        return _values(find("S", "QueryRetrieveLevel=STUDY", "StudyInstanceUID", *keys), "StudyInstanceUID")

    assert studies("StudyDate=20250101-20260131") == sorted([CT_HEAD, MR_SPINE])
    assert studies("StudyDate=-20250101") == [CT_ABD]
    assert studies("StudyDate=20260212") == [MR_KNEE]
    assert studies("StudyDate=20260301-") == [CR_CHEST]
    # Date and time ranges not negotiated as combined are matched each on its own (C.2.2.2.5.1).
    assert studies("StudyDate=20260101-20260301", "StudyTime=0800-1000") == sorted([CT_HEAD, CR_CHEST])
    assert studies("StudyTime=2300-") == [CT_ABD]
    assert studies(f"StudyInstanceUID={MR_KNEE}\\{CT_ABD}") == sorted([MR_KNEE, CT_ABD])
    assert studies("AccessionNumber=ACC100?") == sorted([CT_HEAD, MR_KNEE, CR_CHEST])
    assert studies("AccessionNumber=acc100?") == []  # case-sensitive on every backend
    assert studies("ModalitiesInStudy=MR") == sorted([MR_SPINE, MR_KNEE])
    assert studies("ModalitiesInStudy=CT\\CR") == sorted([CT_HEAD, CR_CHEST, CT_ABD])
    assert studies("SpecificCharacterSet=ISO_IR 192", "StudyDescription=МРТ*") == [MR_KNEE]
    assert studies("PatientName=smith^*", "PatientBirthDate=19700101-19701231") == [CT_ABD]
    assert studies("InstitutionName=Other*") == [CT_ABD]

    rsp = find("S", "QueryRetrieveLevel=STUDY", f"StudyInstanceUID={MR_KNEE}", "PatientName", "PatientID",
               "NumberOfStudyRelatedInstances", "ModalitiesInStudy", "StudyDescription")
    assert str(rsp[0].PatientName) == "Иванова^Мария" and rsp[0].StudyDescription == "МРТ колена"
    assert rsp[0].NumberOfStudyRelatedInstances == 3 and list(rsp[0].ModalitiesInStudy) == ["DOC", "MR"]

    rsp = find("S", "QueryRetrieveLevel=SERIES", f"StudyInstanceUID={CT_HEAD}", "Modality=CT", "SeriesInstanceUID",
               "NumberOfSeriesRelatedInstances")
    assert [(r.SeriesInstanceUID, r.NumberOfSeriesRelatedInstances) for r in rsp] == [(ct_series, 3)]
    rsp = find("S", "QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={CT_HEAD}", f"SeriesInstanceUID={ct_series}",
               "SOPInstanceUID", "InstanceNumber=2")
    assert len(rsp) == 1 and rsp[0].InstanceNumber == 2
    # PATIENT is not a level of the Study Root model: A900, no matches.
    bad = findscu(port, "S", ["QueryRetrieveLevel=PATIENT", "PatientID"], out, "-v")
    assert bad.responses == [] and "DataSetDoesNotMatchSOPClass" in bad.stderr

    # -- Patient/Study Only: PATIENT and STUDY levels, no SERIES
    rsp = find("O", "QueryRetrieveLevel=PATIENT", "PatientID=PAT-C*", "PatientName", "NumberOfPatientRelatedStudies")
    assert _values(rsp, "PatientID") == ["PAT-CJK", "PAT-CYR"] and {r.NumberOfPatientRelatedStudies for r in rsp} == {1}
    rsp = find("O", "QueryRetrieveLevel=STUDY", "PatientID=PAT-LAT1", "StudyInstanceUID", "NumberOfStudyRelatedInstances")
    assert sorted((r.StudyInstanceUID, r.NumberOfStudyRelatedInstances) for r in rsp) == sorted([(CT_HEAD, 4), (MR_SPINE, 2)])
    bad = findscu(port, "O", ["QueryRetrieveLevel=SERIES", "SeriesInstanceUID"], out, "-v")
    assert bad.responses == [] and "DataSetDoesNotMatchSOPClass" in bad.stderr
