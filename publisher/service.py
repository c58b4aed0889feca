"""The running service's parts, wired from settings: database, archive, DICOM server."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field, replace
from typing import Any

import robot_drivers
from pynetdicom.transport import ThreadedAssociationServer
from sqlalchemy import func, select

from publisher.demo import samples
from publisher.archive import durable
from publisher.archive.ingest import Archive, Provenance, StoreRefused
from publisher.archive.parse import configure_pydicom
from publisher.atna.export import AuditExporter
from publisher.config import ConfigError, Settings
from publisher.db import migrate
from publisher.db.models import Instance
from publisher.db.session import Database
from publisher.dicom.server import start_server
from publisher import health
from publisher.jobs.disc_job import JobContext, cancel_burn, recover
from publisher.jobs import labels as job_labels
from publisher.jobs.media_requests import MediaOrderBook
from publisher.jobs.robots import RobotBoard
from publisher.jobs.viewer import viewer_cache
from publisher.jobs.worker import JobWorker
from publisher.labels import fonts
from publisher.routing import forwarder as routing
from publisher.retention.purge import Retention
from publisher.retention.restore import Restorer

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
    retention: Retention | None = None
    audit_exporter: AuditExporter | None = None
    _robot: robot_drivers.Robot | None = None
    _robots: dict[str, robot_drivers.Robot] = field(default_factory=dict)

    def __post_init__(self) -> None:
        configure_process(self.settings)
        job_labels.use_site_template(self.settings.data_dir / job_labels.SITE_TEMPLATE)
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
            self._robot = self._build(self.settings.robot, dict(self.settings.robot_options))
        return self._robot

    def _build(self, kind: str, options: dict[str, Any]) -> robot_drivers.Robot:
        if "lock_dir" not in options:
            simulated = robot_drivers.driver_class(kind).simulated
            options["lock_dir"] = ((self.settings.data_dir / "robot-locks").resolve() if simulated
                                   else self.settings.robot_lock_dir)
        robot = robot_drivers.create(kind, **options)
        robot.check()
        return robot

    def robots(self) -> dict[str, robot_drivers.Robot]:
        """The further robots of ``[[robots]]`` by name, each built once and checked; one that
        cannot be set up is logged and left out (its jobs fail naming it)."""
        for entry in self.settings.robots:
            if entry.name not in self._robots:
                try:
                    self._robots[entry.name] = self._build(entry.kind, {"name": entry.name, **entry.options})
                except (TypeError, ValueError, OSError, robot_drivers.RobotError) as exc:
                    log.error("robot %r (%s) not set up: %s", entry.name, entry.kind, exc)
        return dict(self._robots)

    def job_context(self) -> JobContext:
        """What disc jobs run with: the index, the archive, the configured robots and institution."""
        return JobContext(self.db, self.archive.root, self.settings.data_dir / "jobs", self.robot(),
                          institution=self.settings.institution, robots=self.robots(),
                          viewer_cache=viewer_cache(self.settings.data_dir, self.settings.jobs.viewer_cache_bytes),
                          fetch_purged=Restorer(self.settings.dicom, self.archive, self.settings.retention.retrieve_from))

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

    def start_retention(self) -> Retention:
        """The purge run of ``[retention]`` (publisher.retention), every ``tick_seconds``; it deletes
        nothing in ``keep`` mode."""
        if self.retention is None:
            s = self.settings
            self.retention = Retention(self.db, self.archive.root, s.retention, s.rules)
            self.retention.start()
        return self.retention

    def start_audit_export(self) -> AuditExporter | None:
        """The audit trail sent to the repository of ``[audit]`` (publisher.atna); None while
        ``[audit] host`` is empty."""
        if not self.settings.audit.host:
            return None
        if self.audit_exporter is None:
            a = self.settings.audit
            try:
                self.audit_exporter = AuditExporter(self.db, a, source_id=self.settings.dicom.ae_title,
                                                    site_id=self.settings.institution)
            except (OSError, ssl.SSLError) as exc:  # a CA, certificate or key file that cannot be used
                raise ConfigError(f"audit.ca_file / cert_file / key_file ({a.ca_file or '-'}, {a.cert_file or '-'}, "
                                  f"{a.key_file or '-'}): {exc}") from exc
            self.audit_exporter.start()
        return self.audit_exporter

    def apply(self, settings: Settings) -> None:
        """Take what the web UI's Settings page changes (:mod:`publisher.config.overlay`) without
        a restart: the DICOM server's allowed callers and remotes, the worker's enabled rules
        (from its next tick) and the institution on the labels of jobs mastered from now on."""
        self.settings = settings
        configure = getattr(self.server, "configure", None)  # a PublisherServer (publisher.dicom.server)
        if configure is not None:
            configure(settings.dicom)
        if self.worker is not None:
            self.worker.context = replace(self.worker.context, institution=settings.institution)
            self.worker.rules = tuple(r for r in settings.rules if r.enabled)
        if self.retention is not None:  # a rule enabled here protects what it will burn from the next purge
            self.retention.rules = settings.rules
        log.info("settings applied: %d rule(s) enabled, %d allowed caller(s), %d remote(s)",
                 sum(1 for r in settings.rules if r.enabled), len(settings.dicom.allowed_callers), len(settings.dicom.remotes))

    def robot_board(self) -> RobotBoard:
        """Every robot for the status page and ``/health`` (the default one, if it can be set up)."""
        try:
            default: robot_drivers.Robot | None = self.robot()
            problem = ""
        except (TypeError, ValueError, OSError, robot_drivers.RobotError) as exc:
            default, problem = None, f"robot {self.settings.robot!r} could not be set up: {exc}"
        return RobotBoard(default, self.robots(), problem)

    def health(self) -> dict[str, Any]:
        """``/health``: DICOM, worker, each robot, disk free, database (:mod:`publisher.health`)."""
        d, jobs = self.settings.dicom, self.settings.jobs
        worker = self.worker
        parts = [health.dicom(d.bind, d.port, self.server is not None),
                 health.worker(jobs.worker, worker is not None and worker.running,
                               worker.current_jobs if worker is not None else ()),
                 *health.robots(self.robot_board()),
                 health.disk(self.archive.root, d.min_free_bytes),
                 health.database(self.db)]
        return health.report(parts, ae_title=d.ae_title, dicom_port=d.port)

    def stop(self) -> None:
        """Stop the forwarder, the worker (its running job finishes its step), the audit export,
        the DICOM server, the database."""
        if self.retention is not None:
            self.retention.stop()
            self.retention = None
        if self.forwarder is not None:
            self.forwarder.stop()
            self.forwarder = None
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.audit_exporter is not None:
            self.audit_exporter.stop()
            self.audit_exporter = None
        if self.server is not None:
            self.server.shutdown()
            self.server = None
        self.archive.close()
        self.db.dispose()
