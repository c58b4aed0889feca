"""The running service's parts, wired from settings: database, archive, DICOM server."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import robot_drivers
from pynetdicom.transport import ThreadedAssociationServer
from sqlalchemy import func, select

from publisher.demo import samples
from publisher.archive import durable
from publisher.archive.ingest import Archive, Provenance, StoreRefused
from publisher.archive.parse import configure_pydicom
from publisher.config import Settings
from publisher.db import migrate
from publisher.db.models import Instance
from publisher.db.session import Database
from publisher.dicom.server import start_server
from publisher.jobs.disc_job import JobContext, cancel_burn, recover
from publisher.jobs.media_requests import MediaOrderBook
from publisher.jobs.worker import JobWorker
from publisher.labels import fonts
from publisher.routing import forwarder as routing

log = logging.getLogger(__name__)


def configure_process(settings: Settings) -> None:
    """What the process holds once for everyone: pydicom's reading mode
    (:func:`~publisher.archive.parse.configure_pydicom`) and the label font folders."""
    configure_pydicom()
    fonts.configure(settings.labels.font_dirs)


@dataclass
class Service:
    settings: Settings
    db: Database = field(init=False)
    archive: Archive = field(init=False)
    server: ThreadedAssociationServer | None = None
    worker: JobWorker | None = None
    forwarder: routing.Forwarder | None = None
    _robot: robot_drivers.Robot | None = None

    def __post_init__(self) -> None:
        configure_process(self.settings)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.settings.db_url)
        self.archive = Archive(
            self.settings.archive_root,
            self.db,
            duplicate_policy=self.settings.dicom.duplicate_policy,
            min_free_bytes=self.settings.dicom.min_free_bytes,
            max_instance_bytes=self.settings.dicom.max_instance_bytes,
        )

    def prepare(self) -> None:
        """Migrate the schema, clear temporary files a killed process left behind and put
        interrupted disc jobs where they resume (publisher.jobs.state.ON_RESTART)."""
        migrate.upgrade(self.db.engine, archive_root=self.archive.root)
        left = durable.clear_incoming(self.archive.root)
        if left:
            log.info("removed %d partial file(s) left by an interrupted transfer", left)
        for job_id in recover(self.db):
            log.warning("disc job %d was interrupted; see its state", job_id)

    def robot(self) -> robot_drivers.Robot:
        """The configured robot, built once and checked (its start-up self-test: share writable,
        vendor software alive, unit answering), or a :class:`robot_drivers.RobotError` saying
        what to fix. A simulator's lock lives in the data directory; a real device's in
        ``robot_lock_dir`` (default /run/lock), named after the device (docs/robots.md)."""
        if self._robot is None:
            options = dict(self.settings.robot_options)
            if "lock_dir" not in options:
                simulated = robot_drivers.driver_class(self.settings.robot).simulated
                options["lock_dir"] = ((self.settings.data_dir / "robot-locks").resolve() if simulated
                                       else self.settings.robot_lock_dir)
            robot = robot_drivers.create(self.settings.robot, **options)
            robot.check()
            self._robot = robot
        return self._robot

    def job_context(self) -> JobContext:
        """What disc jobs run with: the index, the archive, the configured robot and institution."""
        return JobContext(self.db, self.archive.root, self.settings.data_dir / "jobs", self.robot(),
                          institution=self.settings.institution)

    def instance_count(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count(Instance.id))) or 0)

    def load_samples_if_empty(self) -> int:
        """Generated demo studies into an empty archive; returns how many instances were filed."""
        if self.instance_count():
            return 0
        n = 0
        folder = self.settings.data_dir / "samples"
        for study in samples.demo_studies():
            for path in samples.write_study(study, folder / study.key):
                try:
                    self.archive.store_file(path, Provenance("SAMPLES"))
                    n += 1
                except StoreRefused as exc:
                    log.error("sample %s not stored: %s", path.name, exc.reason)
        return n

    def start_dicom(self) -> ThreadedAssociationServer:
        """The DICOM server, with media creation requests (PS3.4 Annex S) kept as disc jobs."""
        orders = MediaOrderBook(self.db, self.settings.dicom.media_creation_medium)
        self.server = start_server(self.settings.dicom, self.archive, self.db, orders, self._cancel_burn)
        return self.server

    def _cancel_burn(self, job_id: int) -> bool:
        """Stop a burning job on this process' robot (none built: nothing burns here)."""
        return self._robot is not None and cancel_burn(self.job_context(), job_id)

    def start_worker(self) -> JobWorker | None:
        """The job worker (``[jobs]``): evaluates the enabled ``[[rules]]`` and runs queued jobs
        on the configured robot; None when ``worker = false``."""
        jobs = self.settings.jobs
        if not jobs.worker:
            return None
        if self.worker is None:
            self.worker = JobWorker(self.job_context(), self.settings.rules, tick_seconds=jobs.tick_seconds,
                                    run_queued=jobs.run_queued)
            self.worker.start()
        return self.worker

    def start_forwarder(self) -> routing.Forwarder:
        """The router and forward queue (``[[routes]]``, ``[[destinations]]``, ``[forward]``): it
        runs with or without routes, so every instance is looked at once, when it arrives."""
        if self.forwarder is None:
            s = self.settings
            self.forwarder = routing.build(self.db, self.archive.root, s.dicom, s.routes, s.destinations, s.forward)
            self.forwarder.start()
        return self.forwarder

    def stop(self) -> None:
        """Stop the worker (its running job finishes its step), the DICOM server, the database."""
        if self.forwarder is not None:
            self.forwarder.stop()
            self.forwarder = None
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.server is not None:
            self.server.shutdown()
            self.server = None
        self.archive.close()
        self.db.dispose()
