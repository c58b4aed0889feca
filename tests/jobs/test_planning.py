"""Issue 12, acceptance 4 and 5: nothing fails after mastering.

4. An instance that cannot be decoded stops its job at planning, before anything is mastered or
   burned, with its name; leaving it out burns the rest and the disc's README.TXT and INDEX.HTM
   say what was left out.
5. Ten patients on one disc: the label names those that fit and "and N more", the case insert
   lists every one (pdftotext), and the disc is burned on the simulated robot.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import robot_drivers
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLSLossless

from publisher.demo import samples as S
from publisher.archive.ingest import Archive
from publisher.db import migrate
from publisher.db.models import DiscJob
from publisher.db.session import Database
from publisher.jobs.disc_job import JobContext, create_job, resubmit, run_job
from publisher.jobs.selection import Selection
from publisher.jobs.state import JobState
from tests.support.tools import require_tool

NAMES = ["Müller^Anna", "Иванова^Мария", "山田^太郎", "O'Brien^Seán", "Nguyễn^Văn An", "Dupont^Jean-Luc",
         "Kowalska^Zofia", "Papadopoulos^Giorgos", "Smith^John^^Dr", "Østergård^Søren"]


def _context(tmp: Path, db_url: str) -> tuple[JobContext, Archive]:
    db = Database(db_url)
    migrate.upgrade(db.engine)
    archive = Archive(tmp / "archive", db)
    robot = robot_drivers.create("simulator", time_scale=0.0)
    return JobContext(db, archive.root, tmp / "jobs", robot, institution="Klinik Süd", viewer=False), archive


def _job(ctx: JobContext, job_id: int) -> DiscJob:
    with ctx.db.session() as s:
        job = s.get(DiscJob, job_id)
        assert job is not None
        s.expunge(job)
        return job


def _extract(image: Path, name: str, dest: Path) -> str:
    require_tool("xorriso")
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(image), "-extract", f"/{name}", str(dest)],
                   check=True, capture_output=True)
    return dest.read_text(encoding="utf-8", errors="replace")


def _pdftotext(pdf: Path) -> str:
    require_tool("pdftotext")
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_undecodable_instance_stops_the_job_before_burning_and_can_be_left_out(tmp_path: Path, sqlite_url: str) -> None:
    ctx, archive = _context(tmp_path, sqlite_url)
    spec = S.StudySpec(S.LATIN1_PATIENT, "broken", "CT Thorax", series=(S.SeriesSpec("ct", 3, 1, "Axial", 48, 48),))
    paths = S.write_study(spec, tmp_path / "in")
    broken = S.build_study(spec)[1]
    broken = S.as_file(broken)
    broken.file_meta.TransferSyntaxUID = JPEGLSLossless
    broken.PixelData = encapsulate([b"\xff\xd8\xff\xf7 truncated JPEG-LS"])
    broken["PixelData"].VR = "OB"
    paths[1].unlink()
    broken.save_as(paths[1], enforce_file_format=True)
    for p in paths:
        archive.store_file(p)

    job_id = create_job(ctx.db, Selection(patients=[S.LATIN1_PATIENT.patient_id]), media="cd")
    assert run_job(ctx, job_id) is JobState.FAILED
    job = _job(ctx, job_id)
    assert job.error.startswith("planning:") and str(broken.SOPInstanceUID) in job.error
    assert "Müller" in job.error and "instance 2" in job.error
    (problem,) = json.loads(job.problems or "[]")
    assert problem["uid"] == broken.SOPInstanceUID and "JPEG-LS" in problem["reason"]
    assert ctx.robot.ledger.records == []  # type: ignore[attr-defined]
    assert not list((ctx.jobs_root / f"job{job_id:06d}").glob("*.iso"))  # nothing mastered

    resubmit(ctx.db, job_id, exclude_problems=True)
    assert run_job(ctx, job_id) is JobState.DONE
    job = _job(ctx, job_id)
    (volume,) = json.loads(job.volumes)
    (record,) = ctx.robot.ledger.records  # type: ignore[attr-defined]
    image = Path(volume["image"])
    readme = _extract(image, "README.TXT", tmp_path / "README.TXT")
    assert "LEFT OUT (1 object" in readme and str(broken.SOPInstanceUID) in readme and "JPEG-LS" in readme
    index = _extract(image, "INDEX.HTM", tmp_path / "INDEX.HTM")
    assert "Left out" in index and str(broken.SOPInstanceUID) in index
    assert "2 objects" in readme  # the two decodable slices are on the disc
    ctx.db.dispose()


def test_ten_patients_on_one_disc_label_insert_and_burn(tmp_path: Path, sqlite_url: str) -> None:
    ctx, archive = _context(tmp_path, sqlite_url)
    ids = []
    for n, name in enumerate(NAMES):
        patient = S.PatientSpec(name, f"PID-{n:03d}", f"19{50 + n}0102", "O", "ISO_IR 192")
        spec = S.StudySpec(patient, f"p{n}", "CT", series=(S.SeriesSpec("ct", 1, 1, "Axial", 32, 32),))
        for p in S.write_study(spec, tmp_path / "in" / f"p{n}"):
            archive.store_file(p)
        ids.append(patient.patient_id)

    job_id = create_job(ctx.db, Selection(patients=ids), media="cd", comment="Tumour board")
    assert run_job(ctx, job_id) is JobState.DONE, _job(ctx, job_id).error
    (volume,) = json.loads(_job(ctx, job_id).volumes)
    (record,) = ctx.robot.ledger.records  # type: ignore[attr-defined]
    assert Path(record.label) == Path(volume["label"])  # the label rendered at mastering was printed

    from publisher.labels import format_person_name

    shown = [format_person_name(n) for n in NAMES]
    insert = _pdftotext(Path(volume["insert"]))
    for name, pid in zip(shown, ids):
        line = next((ln for ln in insert.splitlines() if name in ln), "")
        assert pid in line, f"{name} and {pid} are not on one line of the case insert"
    label = _pdftotext(Path(volume["label_pdf"]))
    on_label = [n for n in shown if n in label]
    assert 0 < len(on_label) < len(NAMES)
    assert f"and {len(NAMES) - len(on_label)} more" in label
    lines = label.splitlines()
    for name in on_label:  # each name is followed by its own ID
        at = next(k for k, ln in enumerate(lines) if name in ln)
        assert ids[shown.index(name)] in " ".join(lines[at:at + 3])
    ctx.db.dispose()


def test_a_label_that_cannot_fit_stops_the_job_at_planning(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, archive = _context(tmp_path, sqlite_url)
    spec = S.StudySpec(S.ASCII_PATIENT, "one", "CT", series=(S.SeriesSpec("ct", 1, 1, "Axial", 32, 32),))
    for p in S.write_study(spec, tmp_path / "in"):
        archive.store_file(p)
    from publisher.labels import template

    real = template.load_template

    def crowded(name: str | Path = "default") -> template.LabelTemplate:
        tpl = real(name)
        many = tuple(template.LineStyle("comment", 14.0, "bold", 2) for _ in range(12))
        return template.LabelTemplate(tpl.name, tpl.geometry, tpl.top, tpl.bottom + many, min_size=12.0)

    monkeypatch.setattr("publisher.jobs.labels.load_template", crowded)
    job_id = create_job(ctx.db, Selection(patients=[S.ASCII_PATIENT.patient_id]), media="cd",
                        comment="A comment long enough to need its lines " * 3)
    assert run_job(ctx, job_id) is JobState.FAILED
    job = _job(ctx, job_id)
    assert job.error.startswith("planning: the label of disc 1 of 1") and "does not fit" in job.error
    assert not list((ctx.jobs_root / f"job{job_id:06d}").glob("*.iso"))
    assert ctx.robot.ledger.records == []  # type: ignore[attr-defined]
    ctx.db.dispose()
