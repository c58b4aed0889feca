"""C-FIND that streams (issue 19): the lean query path answers as pynetdicom's did, a C-CANCEL
stops it mid-stream, and the server's memory does not grow with the number of matches.

Peers: DCMTK findscu (responses extracted with -X and compared byte for byte), on SQLite,
PostgreSQL and MariaDB (the cursor streaming differs per driver)."""

from __future__ import annotations

import logging
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import insert

from publisher.db.models import Instance, Patient, Series, Study
from publisher.db.session import Database
from publisher.dicomio.part10 import meta_end
from tests.support.peers import DCMTK_ENV
from tests.support.tools import require_tool
from tests.support.service import running_service, settings_for
from tests.support.qr_studies import QR_CALLERS
from tests.support.qr_studies import STUDIES, findscu, load

CT_HEAD = STUDIES[0].uid
ROOT = "1.2.826.0.1.3680043.10.998"

#: (model, keys) of a sample of queries: every level, counts, character sets, an error.
QUERIES: tuple[tuple[str, tuple[str | bytes, ...]], ...] = (
    ("S", ("QueryRetrieveLevel=STUDY", "StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "PatientName",
           "PatientID", "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedSeries",
           "NumberOfStudyRelatedInstances", "RetrieveAETitle", "InstanceAvailability")),
    ("P", ("QueryRetrieveLevel=PATIENT", "PatientName=*", "PatientID", "PatientBirthDate", "PatientSex",
           "NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries", "NumberOfPatientRelatedInstances")),
    ("S", ("QueryRetrieveLevel=SERIES", f"StudyInstanceUID={CT_HEAD}", "SeriesInstanceUID", "Modality", "SeriesNumber",
           "SeriesDate", "NumberOfSeriesRelatedInstances")),
    ("S", ("QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={CT_HEAD}", "SeriesInstanceUID", "SOPInstanceUID",
           "SOPClassUID", "InstanceNumber")),
    ("P", (b"SpecificCharacterSet=ISO_IR 100", "QueryRetrieveLevel=STUDY", b"PatientName=M\xfcller*", "PatientID",
           "StudyInstanceUID", "ReferringPhysicianName")),
    ("O", ("QueryRetrieveLevel=STUDY", "AccessionNumber=ACC100?", "PatientName", "StudyInstanceUID", "StudyDate=-20260301")),
    ("S", ("QueryRetrieveLevel=STUDY", "StudyDate=20250101-20260131", "StudyTime=0800-1000", "StudyInstanceUID")),
    ("S", ("QueryRetrieveLevel=FOO", "StudyInstanceUID")),
)


def _answers(port: int, out: Path) -> list[tuple[int, list[bytes], list[str]]]:
    answers = []
    for i, (model, keys) in enumerate(QUERIES):
        result = findscu(port, model, keys, out / str(i), "-v")
        statuses = [line.strip() for line in result.stderr.splitlines() if "Find Response" in line]
        files = [f.read_bytes() for f in sorted((out / str(i)).glob("rsp*.dcm"))]
        answers.append((result.returncode, [data[meta_end(data):] for data in files], statuses))  # meta: findscu's own UIDs
    return answers


def test_lean_path_answers_as_pynetdicom(db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    require_tool("findscu")
    caplog.set_level(logging.DEBUG, logger="publisher.dicom.find_association")
    answers = {}
    for lean in (True, False):
        with running_service(settings_for(tmp_path / "svc", db_url, allowed_callers=QR_CALLERS, lean_find=lean)) as service:
            if lean:
                load(service.archive, tmp_path)
            answers[lean] = _answers(service.settings.dicom.port, tmp_path / f"rsp-{lean}")
        if lean:  # the lean path served these associations
            assert sum("released" in r.getMessage() for r in caplog.records) == len(QUERIES)
    assert answers[True] == answers[False]
    assert all(files for _rc, files, _s in answers[True][:-1]) and not answers[True][-1][1]
    assert answers[True][0][2][-1].endswith("Final Find Response (Success)")
    assert "Error: DataSetDoesNotMatchSOPClass" in answers[True][-1][2][-1]


def fill(db: Database, studies: int, first: int) -> None:
    """``studies`` studies (10 per patient, 1 series, 1 instance each); the first ``first`` on 2025-01-01."""
    with db.engine.begin() as conn:
        patients = [{"patient_id": f"P{p}", "issuer_of_patient_id": "", "patient_name": f"Many^{p}", "patient_name_norm": f"many^{p}",
                     "patient_birth_date": "19700101", "patient_sex": "O", "other_patient_ids": "", "specific_character_set": ""}
                    for p in range((studies + 9) // 10)]
        conn.execute(insert(Patient), patients)
        pk = {r.patient_id: r.id for r in conn.execute(Patient.__table__.select())}
        conn.execute(insert(Study), [{"patient_fk": pk[f"P{s // 10}"], "study_instance_uid": f"{ROOT}.{s}",
                                      "study_date": "20250101" if s < first else "20260101", "study_time": "101500",
                                      "accession_number": f"A{s}", "study_id": "1", "referring_physician_name": "",
                                      "study_description": "Many", "institution_name": "", "specific_character_set": ""}
                                     for s in range(studies)])
        spk = {r.study_instance_uid: r.id for r in conn.execute(Study.__table__.select())}
        conn.execute(insert(Series), [{"study_fk": spk[f"{ROOT}.{s}"], "series_instance_uid": f"{ROOT}.{s}.1", "modality": "CT",
                                       "series_number": 1, "series_description": "", "body_part_examined": "", "series_date": "",
                                       "series_time": ""} for s in range(studies)])
        sepk = {r.series_instance_uid: r.id for r in conn.execute(Series.__table__.select())}
        conn.execute(insert(Instance), [{"series_fk": sepk[f"{ROOT}.{s}.1"], "sop_instance_uid": f"{ROOT}.{s}.1.1",
                                         "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2", "instance_number": 1,
                                         "transfer_syntax_uid": "1.2.840.10008.1.2.1", "specific_character_set": "",
                                         "path": f"x/{s}.dcm", "size": 1, "sha256": "0" * 64, "calling_ae": "", "peer_address": ""}
                                        for s in range(studies)])


STUDY_KEYS = ("QueryRetrieveLevel=STUDY", "StudyInstanceUID", "PatientName", "PatientID", "AccessionNumber",
              "ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances")


def test_cancel_stops_the_stream(db_url: str, tmp_path: Path) -> None:
    require_tool("findscu")
    with running_service(settings_for(tmp_path / "svc", db_url, allowed_callers=QR_CALLERS)) as service:
        fill(service.db, 3000, 0)
        result = findscu(service.settings.dicom.port, "S", STUDY_KEYS, tmp_path / "rsp", "-v", "--cancel", "5")
        assert result.returncode == 0, result.stderr
        assert 5 <= len(result.responses) < 3000
        assert "Cancel" in [line for line in result.stderr.splitlines() if "Find Response" in line][-1], result.stderr[-2000:]
        # the association stays usable: the next query is answered in full
        again = findscu(service.settings.dicom.port, "S", ("QueryRetrieveLevel=STUDY", f"StudyInstanceUID={ROOT}.7", "AccessionNumber"),
                        tmp_path / "again")
        assert [r.AccessionNumber for r in again.responses] == ["A7"]


def test_memory_flat_in_matches(db_url: str, tmp_path: Path) -> None:
    """The server's peak Python memory answering 2,000 matches is about that of 200."""
    require_tool("findscu")
    with running_service(settings_for(tmp_path / "svc", db_url, allowed_callers=QR_CALLERS)) as service:
        fill(service.db, 2000, 200)
        peaks = {}
        for label, date in (("200", "StudyDate=20250101"), ("2000", "StudyDate")):
            findscu(service.settings.dicom.port, "S", (*STUDY_KEYS, date), tmp_path / "warm")
            out = tmp_path / label
            out.mkdir()
            cmd = ["findscu", "-aet", "FINDSCU", "-aec", "DISCPUB", "-S", "-X", "-od", str(out)]
            for key in (*STUDY_KEYS, date):
                cmd += ["-k", key]
            tracemalloc.start()  # this process is the server (its threads); findscu is not traced
            try:
                subprocess.run([*cmd, "127.0.0.1", str(service.settings.dicom.port)], env=DCMTK_ENV, check=True, capture_output=True)
                peaks[label] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert len(list(out.glob("rsp*.dcm"))) == int(label)
    assert peaks["2000"] < 1.5 * peaks["200"] + 64 * 1024, peaks


def _pynetdicom_find(port: int, combined: bool) -> tuple[list[str], bytes | None]:
    """Studies of a Date and a Time range from a pynetdicom SCU, which asks for combined
    date-time matching (PS3.4 C.5.1.1.2 byte 2) when ``combined``; and the answer to it."""
    from pydicom.dataset import Dataset
    from pynetdicom import AE
    from pynetdicom.pdu_primitives import SOPClassExtendedNegotiation

    from publisher.dicom.sop_classes import STUDY_ROOT_FIND

    ae = AE(ae_title="PYNETDICOM")
    ae.add_requested_context(STUDY_ROOT_FIND)
    item = SOPClassExtendedNegotiation()
    item.sop_class_uid = STUDY_ROOT_FIND
    item.service_class_application_information = b"\x01\x01" if combined else b"\x01\x00"
    assoc = ae.associate("127.0.0.1", port, ae_title="DISCPUB", ext_neg=[item])
    assert assoc.is_established
    answer = assoc.acceptor.sop_class_extended.get(STUDY_ROOT_FIND)
    q = Dataset()
    q.QueryRetrieveLevel, q.StudyDate, q.StudyTime, q.StudyInstanceUID = "STUDY", "20260101-20260301", "0800-1000", ""
    found = sorted(str(ds.StudyInstanceUID) for status, ds in assoc.send_c_find(q, STUDY_ROOT_FIND) if status and status.Status == 0xFF00)
    assoc.release()
    return found, answer


def test_combined_datetime_negotiated_alike(sqlite_url: str, tmp_path: Path) -> None:
    """Extended negotiation on the lean path: the same answer item and matching as pynetdicom's."""
    results = {}
    for lean in (True, False):
        with running_service(settings_for(tmp_path / "svc", sqlite_url, allowed_callers=QR_CALLERS, lean_find=lean)) as service:
            if lean:
                load(service.archive, tmp_path)
            results[lean] = [_pynetdicom_find(service.settings.dicom.port, combined) for combined in (True, False)]
    assert results[True] == results[False]
    (combined, answer), (separate, _) = results[True]
    assert answer == b"\x01\x01" and set(separate) < set(combined)


def test_streaming_read_leaves_sqlite_writable(sqlite_url: str, tmp_path: Path) -> None:
    """A C-FIND's cursor, open while its caller reads, does not hold SQLite's write lock."""
    from sqlalchemy import func, select

    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as service:
        fill(service.db, 500, 0)
        with service.db.reading() as reader:
            rows = reader.execute(select(Study.id), execution_options={"yield_per": 10})
            assert next(iter(rows)) is not None  # mid-stream
            with service.db.session() as writer:  # a writer commits meanwhile
                writer.execute(insert(Patient).values(patient_id="NEW", issuer_of_patient_id="", patient_name="New", patient_name_norm="new",
                                                      patient_birth_date="", patient_sex="", other_patient_ids="", specific_character_set=""))
        with service.db.session() as s:
            assert s.scalar(select(func.count(Patient.id))) == 51
