"""Disc-job test set-up: a job context on a fresh database and archive, and the studies the rule tests file."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

import robot_drivers
from publisher.archive.ingest import Archive, Provenance
from publisher.db import migrate
from publisher.db.models import DiscJob, Instance, Series, Study, utcnow
from publisher.db.session import Database
from publisher.demo import samples
from publisher.jobs.disc_job import JobContext
from publisher.jobs.rules import Rule, due_groups
from publisher.jobs.worker import JobWorker


def job_context(tmp: Path, db_url: str, robot: robot_drivers.Robot | None = None) -> JobContext:
    db = Database(db_url)
    migrate.upgrade(db.engine)
    archive = Archive(tmp / "archive", db)
    for study in samples.demo_studies(4):
        for p in samples.write_study(study, tmp / "in" / study.key):
            archive.store_file(p)
    return JobContext(db, archive.root, tmp / "jobs", robot or robot_drivers.create("simulator", time_scale=0.0),
                      institution="Sample Hospital")


def load_job(ctx: JobContext, job_id: int) -> DiscJob:
    with ctx.db.session() as s:
        job = s.get(DiscJob, job_id)
        assert job is not None
        return job


def ct_study(patient: samples.PatientSpec, key: str, count: int = 3, *extra: samples.SeriesSpec) -> samples.StudySpec:
    return samples.StudySpec(patient, key, f"Study {key}", series=(samples.SeriesSpec("ct", count, 1, "Axial", 32, 32), *extra))


CT_A = ct_study(samples.LATIN1_PATIENT, "ct-a", 3, samples.SeriesSpec("sr", 1, 90, "Report"))
CT_B = ct_study(samples.LATIN1_PATIENT, "ct-b", 2)
MR_C = samples.StudySpec(samples.CYRILLIC_PATIENT, "mr-c", "Knee", series=(samples.SeriesSpec("mr", 2, 1, "T1", 32, 32),))


class RulesSite:
    """A migrated database and an archive filled by real stores, as the Storage SCP files them."""

    def __init__(self, tmp: Path, db_url: str) -> None:
        self.tmp = tmp
        self.db = Database(db_url)
        migrate.upgrade(self.db.engine)
        self.archive = Archive(tmp / "archive", self.db)

    def store(self, study: samples.StudySpec, calling_ae: str = "CT1", *, only: str | None = None) -> int:
        """Store ``study`` (or only its series of kind ``only``) as sent by ``calling_ae``."""
        spec = study if only is None else samples.StudySpec(study.patient, study.key, study.description,
                                                            series=tuple(s for s in study.series if s.kind == only))
        files = samples.write_study(spec, self.tmp / "in" / f"{study.key}-{only or 'all'}")
        for f in files:
            self.archive.store_file(f, Provenance(calling_ae))
        return len(files)

    def arrived(self, study: samples.StudySpec, at: dt.datetime) -> None:
        """As if every instance of ``study`` had arrived at ``at``."""
        series = select(Series.id).join(Study, Series.study_fk == Study.id).where(Study.study_instance_uid == study.uid)
        with self.db.session() as s:
            s.execute(update(Instance).where(Instance.series_fk.in_(series)).values(received_at=at))

    def latest(self, study: samples.StudySpec) -> dt.datetime:
        with self.db.session() as s:
            value = s.scalar(select(func.max(Instance.received_at)).join(Series, Instance.series_fk == Series.id)
                             .join(Study, Series.study_fk == Study.id).where(Study.study_instance_uid == study.uid))
        assert value is not None
        return value

    def due(self, rule: Rule, now: dt.datetime) -> list[tuple[str, ...]]:
        with self.db.session() as s:
            return [g.studies for g in due_groups(s, rule, now)]

    def worker(self, *rules: Rule, now: dt.datetime | Callable[[], dt.datetime] = utcnow, tick_seconds: float = 30.0,
               run_queued: bool = True) -> JobWorker:
        """A worker with the simulator robot (no waiting), its lock in the test's folder."""
        robot = robot_drivers.create("simulator", time_scale=0.0, lock_dir=self.tmp / "locks")
        ctx = JobContext(self.db, self.archive.root, self.tmp / "jobs", robot, institution="Sample Hospital")
        clock = now if callable(now) else (lambda: now)
        return JobWorker(ctx, rules, now=clock, tick_seconds=tick_seconds, run_queued=run_queued)

    def jobs(self) -> list[DiscJob]:
        with self.db.session() as s:
            return list(s.scalars(select(DiscJob).order_by(DiscJob.id)))


SHARED_ROOT = Path(__file__).resolve().parents[2]


def robot_site(data_dir: Path) -> None:
    """A data directory with its SQLite index and a few sample studies filed."""
    db = Database(f"sqlite:///{(data_dir / 'publisher.db').resolve()}")
    migrate.upgrade(db.engine)
    archive = Archive(data_dir / "archive", db)
    for study in samples.demo_studies(2)[:1]:
        for p in samples.write_study(study, data_dir / "in" / study.key):
            archive.store_file(p)
    archive.close()
    db.dispose()


MIN = dt.timedelta(minutes=1)


def next_second() -> None:
    """Let the clock pass a whole second: MariaDB keeps DATETIME to the second, and a test that
    means "after the job was made" must not land in the job's own second."""
    start = utcnow().replace(microsecond=0)
    while utcnow().replace(microsecond=0) == start:
        time.sleep(0.02)


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[RulesSite]:
    site = RulesSite(tmp_path, db_url)
    yield site
    site.db.dispose()

