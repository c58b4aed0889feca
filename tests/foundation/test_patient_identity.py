"""Patient identity: (Patient ID, Issuer of Patient ID); without a Patient ID one patient per
study, never one patient for everyone without an ID (PS3.3 C.7.1.1; publisher.archive.identity).

Shown the ways a person meets patients: DCMTK findscu at the PATIENT level (Patient Root) and
the STUDY level, the web patient list, ``publisher master`` (selection and DICOMDIR), and the
migration that splits patients merged by earlier versions."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import Connection, column, func, select, table, text

from publisher.demo import samples
from publisher.archive.ingest import Archive
from publisher.db import migrate
from publisher.db.models import Patient, Study
from publisher.db.session import Database
from publisher.jobs.selection import EmptySelection, Selection, select_instances
from tests.support.tools import require_tool
from tests.support.service import running_service, settings_for, storescu
from tests.support.qr_studies import QR_CALLERS
from tests.support.qr_studies import findscu

#: Three different people, none with a Patient ID (and one more with an ID, two studies).
NO_ID = (
    samples.PatientSpec("Doe^John", "", "19800101", "M", issuer=""),
    samples.PatientSpec("Roe^Jane", "", "19750505", "F", issuer=""),
    samples.PatientSpec("Unknown^Trauma", "", "", "M", issuer=""),
)
KNOWN = samples.PatientSpec("Known^Kim", "PAT-K", "19600606", "F", issuer="HOSP")
STUDIES = [samples.StudySpec(p, f"noid{n}", f"Study of {p.name}", series=(samples.SeriesSpec("ct", 2, 1, "Axial", 16, 16),))
           for n, p in enumerate(NO_ID)] + \
          [samples.StudySpec(KNOWN, f"k{n}", "Known", series=(samples.SeriesSpec("ct", 1, 1, "Axial", 16, 16),)) for n in range(2)]


def _files(tmp: Path, studies: list[samples.StudySpec] = STUDIES) -> list[Path]:
    return [p for st in studies for p in samples.write_study(st, tmp / "src" / st.key)]


def test_three_people_without_patient_id_stay_three_patients(db_url: str, tmp_path: Path) -> None:
    require_tool("storescu", "findscu")
    settings = settings_for(tmp_path / "svc", db_url, allowed_callers=QR_CALLERS)
    with running_service(settings) as service:
        port = settings.dicom.port
        sent = storescu(port, _files(tmp_path))  # one association, all five studies
        assert sent.returncode == 0, sent.stderr
        patients = findscu(port, "P", ["QueryRetrieveLevel=PATIENT", "PatientName", "PatientID",
                                       "NumberOfPatientRelatedStudies"], tmp_path / "p")
        assert patients.returncode == 0, patients.stderr
        by_name = {str(r.PatientName): r for r in patients.responses}
        assert sorted(by_name) == sorted([p.name for p in NO_ID] + [KNOWN.name])
        assert all(by_name[p.name].PatientID in ("", None) for p in NO_ID)
        assert [int(by_name[p.name].NumberOfPatientRelatedStudies) for p in NO_ID] == [1, 1, 1]
        assert int(by_name[KNOWN.name].NumberOfPatientRelatedStudies) == 2
        studies = findscu(port, "S", ["QueryRetrieveLevel=STUDY", "PatientName", "PatientID", "StudyInstanceUID"], tmp_path / "s")
        names = {str(r.StudyInstanceUID): str(r.PatientName) for r in studies.responses}
        assert names == {str(st.uid): st.patient.name for st in STUDIES}

        from tests.support.web_site import logged_in_client
        from publisher.web.app import create_app

        web = logged_in_client(create_app(service.db), service.db)
        listed = web.get("/api/patients").json()
        assert sorted(p["name"] for p in listed) == sorted(by_name)
        for p in listed:
            studies_of = web.get(f"/api/patients/{p['id']}/studies").json()
            assert len(studies_of) == (2 if p["name"] == KNOWN.name else 1)


def test_master_picks_patients_without_id_by_study_and_keeps_them_apart(tmp_path: Path) -> None:
    require_tool("dciodvfy")
    data = tmp_path / "data"
    data.mkdir()
    db = Database(f"sqlite:///{data / 'publisher.db'}")
    migrate.upgrade(db.engine)
    archive = Archive(data / "archive", db)
    for f in _files(tmp_path):
        archive.store_file(f)
    with db.session() as s:
        with pytest.raises(EmptySelection, match="without a Patient ID"):
            select_instances(s, Selection(patients=[""]), archive.root)
        one, _ = select_instances(s, Selection(studies=[str(STUDIES[0].uid)]), archive.root)
    assert {i.patient_name for i in one} == {NO_ID[0].name}
    db.dispose()
    env = {**os.environ, "PUBLISHER_DATA_DIR": str(data), "PUBLISHER_MIN_FREE_BYTES": "0", "PUBLISHER_LOAD_SAMPLES": "false"}
    cli = [sys.executable, "-m", "publisher.cli", "master", "-q", "--media", "folder", "--no-viewer"]
    refused = subprocess.run([*cli, "--patient", "", "--out", str(tmp_path / "none")], capture_output=True, text=True, env=env)
    assert refused.returncode != 0 and "select their study" in refused.stderr
    r = subprocess.run([*cli, "--study", str(STUDIES[0].uid), "--study", str(STUDIES[1].uid), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    [dicomdir] = list((tmp_path / "out").rglob("DICOMDIR"))
    records = [rec for rec in dcmread(dicomdir).DirectoryRecordSequence if rec.DirectoryRecordType == "PATIENT"]
    assert sorted((str(rec.PatientName), str(rec.PatientID)) for rec in records) == \
        [(NO_ID[0].name, "UNKNOWN"), (NO_ID[1].name, "UNKNOWN2")]
    v = subprocess.run(["dciodvfy", str(dicomdir)], capture_output=True, text=True)
    assert "Error" not in v.stdout + v.stderr, (v.stdout + v.stderr)[-2000:]


def test_one_patient_id_of_two_issuers_is_two_patients(tmp_path: Path, sqlite_url: str) -> None:
    a = samples.PatientSpec("Same^Id", "12345", issuer="HOSP-A")
    b = samples.PatientSpec("Other^Person", "12345", issuer="HOSP-B")
    studies = [samples.StudySpec(p, f"s{n}", series=(samples.SeriesSpec("ct", 1, 1, "", 16, 16),)) for n, p in enumerate((a, b))]
    db = Database(sqlite_url)
    migrate.upgrade(db.engine)
    archive = Archive(tmp_path / "archive", db)
    for f in _files(tmp_path, studies):
        archive.store_file(f)
    with db.session() as s:
        assert s.scalar(select(func.count(Patient.id))) == 2
        with pytest.raises(EmptySelection, match="2 issuers"):
            select_instances(s, Selection(patients=["12345"]), archive.root)
        only_b, _ = select_instances(s, Selection(patients=["12345\\HOSP-B"]), archive.root)
    assert {i.patient_name for i in only_b} == {b.name}
    db.dispose()


def test_upgrade_splits_patients_merged_on_an_empty_id(db_url: str, tmp_path: Path) -> None:
    """Archives filed before revision 0005 have one patient row for everyone without an ID: the
    upgrade gives each study its own patient with the name its files carry, and keeps every study."""
    db = Database(db_url)
    migrate.upgrade(db.engine, "0004")
    archive = Archive(tmp_path / "archive", db)
    root = archive.root
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for spec in STUDIES[:3]:
        [src] = samples.write_study(samples.StudySpec(spec.patient, spec.key, series=(samples.SeriesSpec("ct", 1, 1, "", 16, 16),)),
                                    tmp_path / "old" / spec.key)
        rel = src.relative_to(tmp_path)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(src.read_bytes())
        paths[str(spec.uid)] = str(rel)
    at = dt.datetime(2026, 1, 1, 12, 0, 0)
    with db.engine.begin() as conn:  # what 0004 filed: one patient row, with the first one's name
        _insert(conn, "patient", id=1000, patient_id="", issuer_of_patient_id="", patient_name=NO_ID[0].name,
                patient_name_norm=NO_ID[0].name.casefold(), patient_birth_date="", patient_sex="", other_patient_ids="",
                specific_character_set="", created_at=at)
        for n, (uid, rel) in enumerate(paths.items()):
            _insert(conn, "study", id=2000 + n, patient_fk=1000, study_instance_uid=uid, study_date="", study_time="",
                    accession_number="", study_id="", referring_physician_name="", study_description="", institution_name="",
                    specific_character_set="", created_at=at)
            _insert(conn, "series", id=3000 + n, study_fk=2000 + n, series_instance_uid=f"{uid}.1", modality="CT",
                    series_description="", body_part_examined="", series_date="", series_time="", created_at=at)
            _insert(conn, "instance", id=4000 + n, series_fk=3000 + n, sop_instance_uid=f"{uid}.1.1", sop_class_uid="1.2",
                    transfer_syntax_uid="1.2.840.10008.1.2.1", specific_character_set="", path=rel, size=1, sha256="0" * 64,
                    received_at=at, calling_ae="", peer_address="")
    migrate.upgrade(db.engine, archive_root=root)
    with db.session() as s:
        rows = s.execute(select(Study.study_instance_uid, Patient.patient_name, Patient.patient_birth_date, Patient.id)
                         .join(Patient, Study.patient_fk == Patient.id)).all()
    assert {uid: name for uid, name, _, _ in rows} == {str(st.uid): st.patient.name for st in STUDIES[:3]}
    assert len({pk for *_, pk in rows}) == 3
    assert {uid: born for uid, _, born, _ in rows}[str(STUDIES[1].uid)] == NO_ID[1].birth_date
    migrate.downgrade(db.engine, "0004")  # and back: one merged patient, no study lost
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM study")).scalar() == 3
        assert conn.execute(text("SELECT COUNT(*) FROM patient")).scalar() == 1
    db.dispose()


def _insert(conn: Connection, name: str, **values: object) -> None:
    """A row as an older schema holds it (the models describe the newest one)."""
    conn.execute(table(name, *(column(k) for k in values)).insert().values(**values))
