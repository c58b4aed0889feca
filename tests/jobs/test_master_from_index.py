"""From the index to finished discs: ``publisher master`` on what the archive holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pydicom import dcmread

from publisher.demo import samples
from publisher.archive.ingest import Archive
from publisher.db import migrate
from publisher.db.session import Database
from publisher.jobs.selection import EmptySelection, Selection, select_instances
from publisher.media import read_manifest, verify
from tests.support.tools import require_tool

import pytest


def _filled(tmp: Path) -> tuple[Archive, list[samples.StudySpec]]:
    db = Database(f"sqlite:///{tmp / 'data' / 'publisher.db'}")
    (tmp / "data").mkdir(exist_ok=True)
    migrate.upgrade(db.engine)
    archive = Archive(tmp / "data" / "archive", db)
    studies = samples.demo_studies(6)
    for st in studies:
        for p in samples.write_study(st, tmp / "in" / st.key):
            archive.store_file(p)
    return archive, studies


def test_selection_maps_index_rows_with_record_keys(tmp_path: Path) -> None:
    archive, studies = _filled(tmp_path)
    with archive.db.session() as s:
        instances, rejected = select_instances(s, Selection(patients=["PAT-CYR"]), archive.root)
        assert {i.patient_name for i in instances} == {"Иванова^Мария"}
        assert len(instances) == 13 and not rejected  # 12 MR + 1 PDF
        pdf = next(i for i in instances if i.modality == "DOC")
        assert str(pdf.record_keys.MIMETypeOfEncapsulatedDocument) == "application/pdf"
        assert all(i.path.is_file() and len(i.sha256) == 64 for i in instances)
        with pytest.raises(EmptySelection):
            select_instances(s, Selection(studies=["1.2.3.4"]), archive.root)


def test_rejection_note_in_the_archive_keeps_the_instance_off_the_disc(tmp_path: Path) -> None:
    archive, studies = _filled(tmp_path)
    ct_study = studies[0]
    victim = samples.build_study(ct_study)[0]
    note = samples.rejection_note(ct_study, [victim])
    path = tmp_path / "note.dcm"
    samples.as_file(note).save_as(path, enforce_file_format=True)
    archive.store_file(path)
    with archive.db.session() as s:
        instances, rejected = select_instances(s, Selection(studies=[str(ct_study.uid)]), archive.root)
    assert str(victim.SOPInstanceUID) in rejected and str(note.SOPInstanceUID) in rejected


def test_master_cli_makes_verified_cd_images(tmp_path: Path) -> None:
    require_tool("dciodvfy", "xorriso")
    _filled(tmp_path)
    env = {**os.environ, "PUBLISHER_DATA_DIR": str(tmp_path / "data"), "PUBLISHER_MIN_FREE_BYTES": "0"}
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "publisher.cli", "master", "-q", "--patient", "PAT-LAT1", "--patient", "PAT-CJK",
                        "--media", "cd", "--out", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "disc 1 of 1" in r.stdout
    images = list(out.glob("*.iso"))
    assert len(images) == 1
    manifest = read_manifest(next(out.glob("*.manifest.json")))
    assert verify(images[0], manifest).ok
    extracted = tmp_path / "x"
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(images[0]), "-extract", "/", str(extracted)],
                   check=True, capture_output=True)
    # The viewer rides on the disc, reachable from the root INDEX.HTM with exact case.
    assert (extracted / "VIEWER" / "INDEX.HTM").is_file()
    assert "VIEWER/INDEX.HTM" in (extracted / "INDEX.HTM").read_text(encoding="utf-8", errors="replace")
    dicomdir = extracted / "DICOMDIR"
    ds = dcmread(dicomdir)
    patients = {str(rec.PatientName) for rec in ds.DirectoryRecordSequence if rec.DirectoryRecordType == "PATIENT"}
    assert patients == {"Müller^Jürgen", "山田^太郎"}
    v = subprocess.run(["dciodvfy", str(dicomdir)], capture_output=True, text=True)
    assert "Error" not in v.stdout + v.stderr, (v.stdout + v.stderr)[-2000:]
    # The export is in the audit trail: who, which disc, which patients.
    import json

    from sqlalchemy import select

    from publisher.db.models import AuditEvent

    db = Database(f"sqlite:///{tmp_path / 'data' / 'publisher.db'}")
    with db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "media-export")).all()
        assert len(events) == 1 and events[0].actor
        detail = json.loads(events[0].detail)
        assert {p["name"] for p in detail["patients"]} == {"Müller^Jürgen", "山田^太郎"} and detail["disc"] == "1/1"
    db.dispose()
    bad = subprocess.run([sys.executable, "-m", "publisher.cli", "master", "--study", "9.9.9", "--out", str(out)],
                         capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "no stored instance matches" in bad.stderr


def test_reburn_takes_the_viewer_pixels_from_the_cache(tmp_path: Path) -> None:
    from publisher.jobs.viewer import master_with_viewer, viewer_cache

    archive, studies = _filled(tmp_path)
    with archive.db.session() as s:
        instances, rejected = select_instances(s, Selection(studies=[str(studies[0].uid)]), archive.root)
    cache = viewer_cache(tmp_path / "data", 1 << 30)
    assert cache is not None and viewer_cache(tmp_path / "data", 0) is None
    first = master_with_viewer(instances, "cd", tmp_path / "first", rejected=rejected, cache=cache)
    made = cache.added
    again = master_with_viewer(instances, "cd", tmp_path / "again", rejected=rejected, cache=cache)
    assert made > 0 and cache.added == made  # the re-burn encoded nothing
    viewer_files = [(f.dest, f.sha256) for f in first[0].files if f.dest.startswith("VIEWER/")]
    assert viewer_files and viewer_files == [(f.dest, f.sha256) for f in again[0].files if f.dest.startswith("VIEWER/")]
