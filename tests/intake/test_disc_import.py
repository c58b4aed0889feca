"""Importing discs from elsewhere into the archive: duplicates, patient ID reconciliation
(issuer, mapping to a local patient; checked with DCMTK dcmdump), broken discs, forwarding to
DCMTK storescp, the audit trail and ``publisher import-disc``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import select

from publisher.demo import samples as S
from publisher.archive.ingest import Archive
from publisher.cli import main
from publisher.db import migrate
from publisher.db.models import AuditEvent, Instance, Patient, Series, Study
from publisher.db.session import Database
from publisher.intake.coercion import AssignIssuer, DiscImportError, KeepPatientIds, MapToLocalPatient
from publisher.intake.disc_import import import_disc
from publisher.media import master
from publisher.dicomio.part10 import split_part10
from publisher.media.read.entries import ProblemKind
from tests.support.peers import DCMTK_ENV, storescp
from tests.support.net import free_port
from tests.support.tools import require_tool
from tests.support import media_builders as builders
from tests.support.foreign_media import foreign_studies, iso_with, latin1_study, write_foreign_fileset

ISSUER = "KLINIK NORD"


@pytest.fixture(scope="module")
def discs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, str]]]:
    """name -> (source, SOP Instance UID -> path on the disc or in the sources)."""
    tmp = tmp_path_factory.mktemp("discs")
    paths, _, _ = builders.acceptance_files(tmp / "acceptance")
    volume = master(builders.read(paths), "cd", tmp / "ours")[0]
    assert volume.image is not None
    foreign = tmp / "foreign"
    written = write_foreign_fileset(foreign, foreign_studies())
    latin = tmp / "latin"
    latin_written = write_foreign_fileset(latin, [latin1_study()], "PRAXIS")
    return {
        "ours": (volume.image, {i.sop_instance_uid: str(i.path) for i in volume.instances}),
        "foreign-folder": (foreign, written),
        "foreign-xorriso": (iso_with("xorriso", foreign, tmp / "foreign.iso"), written),
        "latin-genisoimage": (iso_with("genisoimage", latin, tmp / "latin.iso", "PRAXIS"), latin_written),
        "latin-folder": (latin, latin_written),
    }


def _archive(tmp: Path, url: str | None = None) -> Archive:
    db = Database(url or f"sqlite:///{tmp / 'index.db'}")
    migrate.upgrade(db.engine)
    return Archive(tmp / "archive", db)


def _patients(archive: Archive) -> set[tuple[str, str, str]]:
    with archive.db.session() as s:
        return {(p.patient_id, p.issuer_of_patient_id, p.patient_name) for p in s.scalars(select(Patient))}


def _stored(archive: Archive) -> dict[str, Path]:
    """SOP Instance UID -> archived file."""
    with archive.db.session() as s:
        return {u: archive.root / p for u, p in s.execute(select(Instance.sop_instance_uid, Instance.path))}


def _audit(archive: Archive) -> list[dict]:  # type: ignore[type-arg]
    with archive.db.session() as s:
        return [json.loads(e.detail) | {"_actor": e.actor, "_subject": e.subject}
                for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "disc-import").order_by(AuditEvent.id))]


def _dcmdump(path: Path) -> str:
    require_tool("dcmdump")
    r = subprocess.run(["dcmdump", "+P", "0400,0561", "+P", "0010,0020", "+P", "0010,0021", "+P", "0010,0010",
                        "+P", "0010,1002", str(path)], capture_output=True, env=DCMTK_ENV)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode("utf-8", "replace")


def test_our_disc_imports_once_and_again_stores_nothing_new(discs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    image, uids = discs["ours"]
    archive = _archive(tmp_path)
    seen: list[tuple[int, int, str]] = []
    report = import_disc(image, archive, actor="frontdesk", progress=lambda d, t, m: seen.append((d, t, m)))
    assert report.refused == {} and report.problems == [] and report.coerced == 0
    assert sorted(report.stored) == sorted(uids) and report.duplicates == []
    assert seen[-1][:2] == (len(uids), len(uids))
    # every data set filed byte for byte as on the disc (only the file meta is ours), names intact
    stored = _stored(archive)
    assert set(stored) == set(uids)
    for uid, source in uids.items():
        ours, theirs = stored[uid].read_bytes(), Path(source).read_bytes()
        assert ours[split_part10(ours)[1]:] == theirs[split_part10(theirs)[1]:]
    names = {n for _, _, n in _patients(archive)}
    assert {S.CYRILLIC_PATIENT.name, S.CJK_PATIENT.name, S.LATIN1_PATIENT.name} == names

    again = import_disc(image, archive, actor="frontdesk")
    assert again.stored == [] and sorted(again.duplicates) == sorted(uids) and again.refused == {}
    assert _stored(archive) == stored
    events = _audit(archive)
    assert len(events) == 2 and events[0]["_actor"] == "frontdesk" and str(image) in events[0]["_subject"]
    assert events[0]["counts"]["stored"] == len(uids) and events[1]["counts"]["duplicates"] == len(uids)
    assert events[1]["counts"]["stored"] == 0 and events[0]["reconcile"] == {"mode": "keep"}
    archive.db.dispose()


def test_issuer_keeps_a_foreign_patient_apart_from_the_local_one(discs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    image, written = discs["foreign-xorriso"]
    archive = _archive(tmp_path)
    # A local patient who happens to have the same ID "12345" as the other hospital's.
    local = S.StudySpec(S.PatientSpec("Smith^John", "12345", issuer=""), "local", series=(S.SeriesSpec("cr", 1, 1),))
    for path in S.write_study(local, tmp_path / "local"):
        archive.store_file(path)
    report = import_disc(image, archive, policy=AssignIssuer(ISSUER), actor="radiologist", source="Klinik Nord, Dr. X")
    assert report.refused == {} and sorted(report.stored) == sorted(written) and report.coerced == len(written)
    assert _patients(archive) == {("12345", "", "Smith^John"), ("12345", ISSUER, "Иванова^Мария"), ("A-77", ISSUER, "山田^太郎")}
    with archive.db.session() as s:
        local_studies = s.scalars(select(Study.study_instance_uid).join(Patient).where(
            Patient.patient_id == "12345", Patient.issuer_of_patient_id == "")).all()
    assert local_studies == [str(local.uid)]

    stored = _stored(archive)
    for uid in written:
        ds = pydicom.dcmread(stored[uid], stop_before_pixels=True)
        assert ds.SOPInstanceUID == uid and ds.IssuerOfPatientID == ISSUER and ds.PatientID in ("12345", "A-77")
        item = ds.OriginalAttributesSequence[-1]
        assert item.ReasonForTheAttributeModification == "COERCE" and item.ModifyingSystem == "DISCPUB"
        assert item.SourceOfPreviousValues == ISSUER and len(item.AttributeModificationDateTime) >= 14
        old = item.ModifiedAttributesSequence[0]
        assert list(old.keys()) == [pydicom.tag.Tag("IssuerOfPatientID")] and old.IssuerOfPatientID in ("", None)
    dump = _dcmdump(stored[next(u for u in written if "P1" in written[u])])
    assert "(0400,0565) CS [COERCE]" in dump and f"(0010,0021) LO [{ISSUER}]" in dump and "Иванова^Мария" in dump
    detail = _audit(archive)[0]
    assert detail["reconcile"] == {"mode": "issuer", "issuer": ISSUER} and detail["source"] == "Klinik Nord, Dr. X"
    assert {(p["from"]["id"], p["from"]["issuer"], p["to"]["issuer"]) for p in detail["patients"]} == \
        {("12345", "", ISSUER), ("A-77", "", ISSUER)}

    # a disc whose issuer is set is left alone
    again = import_disc(discs["ours"][0], archive, policy=AssignIssuer(ISSUER))
    assert again.coerced == 0 and again.refused == {}
    assert ("PAT-CYR", "SAMPLE", S.CYRILLIC_PATIENT.name) in _patients(archive)
    archive.db.dispose()


def test_mapping_to_a_local_patient(discs, tmp_path: Path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    image, written = discs["latin-genisoimage"]
    archive = _archive(tmp_path, db_url)
    policy = MapToLocalPatient("L-0042", patient_name="Мюллер^Юрген", birth_date="19561104", sex="M")
    report = import_disc(image, archive, policy=policy, actor="admin", modifying_system="DISCPUB_TEST")
    assert report.refused == {} and sorted(report.stored) == sorted(written) and report.coerced == len(written)
    # the index knows the patient only under the local ID, with everything the disc held
    assert _patients(archive) == {("L-0042", "", "Мюллер^Юрген")}
    with archive.db.session() as s:
        rows = s.execute(select(Patient.patient_birth_date, Patient.other_patient_ids, Study.study_description,
                                Instance.sop_instance_uid).join(Study, Study.patient_fk == Patient.id)
                         .join(Series, Series.study_fk == Study.id).join(Instance, Instance.series_fk == Series.id)).all()
    assert {r.sop_instance_uid for r in rows} == set(written)
    assert {(r.patient_birth_date, r.other_patient_ids, r.study_description) for r in rows} == \
        {("19561104", "K-0815", "CT Schädel nativ")}
    stored = _stored(archive)
    for uid in written:
        ds = pydicom.dcmread(stored[uid], stop_before_pixels=True)
        assert (ds.SOPInstanceUID, ds.PatientID, ds.IssuerOfPatientID, str(ds.PatientName)) == (uid, "L-0042", "", "Мюллер^Юрген")
        assert ds.SpecificCharacterSet == "ISO_IR 192" and ds.StudyDescription == "CT Schädel nativ"  # was ISO_IR 100
        assert [(o.PatientID, o.IssuerOfPatientID) for o in ds.OtherPatientIDsSequence] == [("K-0815", "")]
        item = ds.OriginalAttributesSequence[-1]
        assert (item.ReasonForTheAttributeModification, item.ModifyingSystem) == ("COERCE", "DISCPUB_TEST")
        old = item.ModifiedAttributesSequence[0]
        assert (old.PatientID, str(old.PatientName), old.PatientBirthDate) == ("K-0815", "Müller^Jürgen", "19561103")
        assert "PatientSex" not in old  # unchanged values are not listed
    dump = _dcmdump(stored[sorted(written)[0]])
    assert "(0010,0020) LO [L-0042]" in dump and "(0010,0020) LO [K-0815]" in dump and "Müller^Jürgen" in dump
    assert "(0400,0565) CS [COERCE]" in dump and "Мюллер^Юрген" in dump
    detail = _audit(archive)[0]
    assert detail["patients"] == [{"from": {"id": "K-0815", "issuer": "", "name": "Müller^Jürgen"},
                                   "to": {"id": "L-0042", "issuer": "", "name": "Мюллер^Юрген"}}]
    assert detail["reconcile"]["mode"] == "map" and detail["_actor"] == "admin"
    archive.db.dispose()


def test_mapping_a_disc_of_several_patients_needs_the_one_named(discs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, written = discs["foreign-folder"]
    archive = _archive(tmp_path)
    with pytest.raises(DiscImportError, match="holds 2 patients"):
        import_disc(folder, archive, policy=MapToLocalPatient("L-1"))
    assert _stored(archive) == {} and _audit(archive) == []
    report = import_disc(folder, archive, policy=MapToLocalPatient("L-1", source_patient_id="A-77"))
    cjk = {u for u, rel in written.items() if rel.startswith("IMAGES/P2/")}
    assert sorted(report.stored) == sorted(cjk) and len(report.skipped) == len(written) - len(cjk)
    assert _patients(archive) == {("L-1", "", "山田^太郎")}
    archive.db.dispose()


def test_missing_file_and_a_disc_without_dicomdir(discs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, written = discs["foreign-folder"]
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    gone = sorted(written)[0]
    (broken / written[gone]).unlink()
    archive = _archive(tmp_path)
    report = import_disc(broken, archive, policy=KeepPatientIds())
    assert [(p.kind, p.where) for p in report.problems] == [(ProblemKind.MISSING_FILE, written[gone])]
    assert sorted(report.stored) == sorted(set(written) - {gone}) and report.refused == {}
    assert _audit(archive)[0]["counts"]["problems"] == 1

    # No DICOMDIR: the files are found by scanning; one file cannot be filed and says why.
    latin, latin_written = discs["latin-folder"]
    scan = tmp_path / "scan"
    shutil.copytree(latin, scan)
    (scan / "DICOMDIR").unlink()
    bad = pydicom.dcmread(scan / "IMAGES/P1/S1/I0002")
    del bad.SOPInstanceUID
    bad.save_as(scan / "IMAGES/P1/S1/I0002")
    report = import_disc(scan, archive)
    assert [p.kind for p in report.problems] == [ProblemKind.NO_DICOMDIR]
    assert list(report.refused) == ["IMAGES/P1/S1/I0002"] and "0xC001" in report.refused["IMAGES/P1/S1/I0002"]
    assert len(report.stored) == len(latin_written) - 1 and not report.ok
    archive.db.dispose()


def _config(tmp: Path, remotes: dict[str, int]) -> Path:
    cfg = tmp / "publisher.toml"
    entries = ", ".join(f'{{ ae_title = "{ae}", host = "127.0.0.1", port = {p} }}' for ae, p in remotes.items())
    cfg.write_text(f'[service]\ndata_dir = "{tmp / "data"}"\nload_samples = false\n'
                   f'[dicom]\nbind = "127.0.0.1"\nport = {free_port()}\nmin_free_bytes = 0\nremotes = [ {entries} ]\n')
    return cfg


def test_import_disc_command_dry_run_import_and_forward(discs, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PUBLISHER_DATA_DIR", "PUBLISHER_DATABASE_URL", "PUBLISHER_DICOM_PORT", "PUBLISHER_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    image, written = discs["foreign-xorriso"]
    received = tmp_path / "received"
    with storescp(received, "FWD") as port:
        cfg = _config(tmp_path, {"FWD": port})
        assert main(["--config", str(cfg), "import-disc", str(image), "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert "patient 12345 (no issuer)  Иванова^Мария  4 instance(s)" in out and "山田^太郎" in out
        assert "МРТ колена" in out and "2 patient(s), 2 study(ies), 4 series, 6 instance(s)" in out
        assert not (tmp_path / "data" / "archive").exists() or not any((tmp_path / "data" / "archive").rglob("*.dcm"))

        with pytest.raises(SystemExit, match="holds 2 patients"):
            main(["--config", str(cfg), "import-disc", str(image), "--patient-id", "L-1", "-q"])

        assert main(["--config", str(cfg), "import-disc", str(image), "--issuer", ISSUER, "--forward", "FWD", "-q"]) == 0
        out = capsys.readouterr().out
        assert f"6 file(s) on the disc, 6 stored, 0 already archived, 0 refused, 6 with reconciled patient IDs" in out
        assert "forwarded to FWD: 6 sent, 0 failed" in out and f"12345 [] Иванова^Мария -> 12345 [{ISSUER}]" in out
    got = {}
    for f in received.iterdir():
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        got[str(ds.SOPInstanceUID)] = str(ds.IssuerOfPatientID)
    assert got == {uid: ISSUER for uid in written}  # every instance, as reconciled

    # something refused: exit code 1, the reason on stderr
    scan = tmp_path / "scan"
    shutil.copytree(discs["latin-folder"][0], scan)
    (scan / "DICOMDIR").unlink()
    (scan / "IMAGES/P1/S1/I0001").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\x14\x001.2.840.10008.1.2.1\0" + b"\xff" * 40)
    assert main(["--config", str(cfg), "import-disc", str(scan), "-q"]) == 1
    captured = capsys.readouterr()
    assert "3 stored" in captured.out and "refused IMAGES/P1/S1/I0001" in captured.err
