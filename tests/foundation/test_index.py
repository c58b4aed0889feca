"""The index on SQLite, PostgreSQL and MariaDB: decoded names, wildcard search, migrations."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, inspect, select

from publisher.demo import samples
from publisher.archive.ingest import Archive
from publisher.archive.query.search import find_patients
from publisher.db import migrate
from publisher.db.models import Instance, Patient, Series, Study
from publisher.db.session import Database


def _archive(tmp: Path, url: str) -> Archive:
    db = Database(url)
    migrate.upgrade(db.engine)
    return Archive(tmp / "archive", db)


def _store(archive: Archive, spec: samples.StudySpec, tmp: Path) -> list[Path]:
    paths = samples.write_study(spec, tmp / spec.key)
    for p in paths:
        archive.store_file(p)
    return paths


def test_migration_creates_schema_at_head(db_url: str, tmp_path: Path) -> None:
    archive = _archive(tmp_path, db_url)
    tables = set(inspect(archive.db.engine).get_table_names())
    assert {"patient", "study", "series", "instance", "audit_event", "disc_job", "alembic_version"} <= tables
    assert migrate.current_revision(archive.db.engine) == migrate.head_revision()
    migrate.upgrade(archive.db.engine)  # idempotent
    archive.db.dispose()


def test_latin1_and_utf8_names_decoded_and_found_by_wildcards(db_url: str, tmp_path: Path) -> None:
    archive = _archive(tmp_path, db_url)
    for patient, key in ((samples.LATIN1_PATIENT, "l"), (samples.CYRILLIC_PATIENT, "c"), (samples.CJK_PATIENT, "j")):
        _store(archive, samples.StudySpec(patient, key, series=(samples.SeriesSpec("ct", 2, 1, "", 16, 16),)), tmp_path)
    with archive.db.session() as s:
        names = {p.patient_id: p.patient_name for p in s.scalars(select(Patient))}
        assert names == {"PAT-LAT1": "Müller^Jürgen", "PAT-CYR": "Иванова^Мария", "PAT-CJK": "山田^太郎"}
        assert [p.patient_id for p in find_patients(s, "MÜLL*")] == ["PAT-LAT1"]
        assert [p.patient_id for p in find_patients(s, "m?ller^j*")] == ["PAT-LAT1"]
        assert [p.patient_id for p in find_patients(s, "иван*")] == ["PAT-CYR"]
        assert [p.patient_id for p in find_patients(s, "*太郎")] == ["PAT-CJK"]
        assert find_patients(s, "Mueller*") == []
        assert len(find_patients(s, "*")) == 3
        assert sorted(p.patient_id for p in find_patients(s, patient_id="PAT-C??")) == ["PAT-CJK", "PAT-CYR"]
    archive.db.dispose()


def test_latin1_bytes_on_the_wire_are_decoded(sqlite_url: str, tmp_path: Path) -> None:
    """A name encoded in ISO 8859-1 (not UTF-8) is stored as the right characters."""
    archive = _archive(tmp_path, sqlite_url)
    path = samples.write_study(samples.StudySpec(samples.LATIN1_PATIENT, "x", series=(samples.SeriesSpec("ct", 1, 1, "", 8, 8),)), tmp_path / "in")[0]
    raw = path.read_bytes()
    assert "Müller".encode("latin-1") in raw and "Müller".encode("utf-8") not in raw
    archive.store_file(path)
    with archive.db.session() as s:
        assert s.scalar(select(Patient.patient_name)) == "Müller^Jürgen"


def test_iso2022_japanese_name_decoded(sqlite_url: str, tmp_path: Path) -> None:
    """ISO 2022 IR 87 (PS3.5 H.3.1): the ideographic group is decoded."""
    archive = _archive(tmp_path, sqlite_url)
    ds = samples.build_study(samples.StudySpec(samples.ASCII_PATIENT, "jp", series=(samples.SeriesSpec("ct", 1, 1, "", 8, 8),)))[0]
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    ds.PatientName = "Yamada^Tarou=山田^太郎"
    ds.PatientID = "PAT-2022"
    path = tmp_path / "jp.dcm"
    samples.as_file(ds).save_as(path, enforce_file_format=True)
    assert b"\x1b$B" in path.read_bytes()  # really ISO 2022 escape sequences on disk
    archive.store_file(path)
    with archive.db.session() as s:
        assert s.scalar(select(Patient.patient_name).where(Patient.patient_id == "PAT-2022")) == "Yamada^Tarou=山田^太郎"
        assert [p.patient_id for p in find_patients(s, "*山田*")] == ["PAT-2022"]


def test_hierarchy_and_columns(db_url: str, tmp_path: Path) -> None:
    archive = _archive(tmp_path, db_url)
    spec = samples.demo_studies(3)[0]
    paths = _store(archive, spec, tmp_path)
    with archive.db.session() as s:
        study = s.scalar(select(Study))
        assert study is not None
        assert (study.study_date, study.accession_number, study.study_description) == ("20260105", "ACC1001", "CT Schädel nativ")
        assert study.referring_physician_name == "Referrer^Rita" and study.institution_name == "Sample Hospital"
        assert s.scalar(select(func.count(Series.id))) == 2
        inst = s.scalar(select(Instance).where(Instance.instance_number == 2))
        assert inst is not None and inst.size > 0 and len(inst.sha256) == 64
        assert inst.calling_ae == "IMPORT" and inst.transfer_syntax_uid == "1.2.840.10008.1.2.1"
        assert (archive.root / inst.path).is_file()
        assert s.scalar(select(func.count(Instance.id))) == len(paths)
    archive.db.dispose()
