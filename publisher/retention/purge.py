"""The purge run: what :mod:`publisher.retention.policy` lets go is deleted through
:func:`publisher.archive.purged.purge` (file and row, a ``purged_instance`` row kept), and each
run that deleted something is one ``purge`` audit event naming the studies and how many
instances and bytes went, for which reason. ``publisher serve`` runs it every ``tick_seconds``
in a thread, as the forwarder (:mod:`publisher.routing.forwarder`).

Order of a run: buffer mode's own rule (burned, forwarded, grace passed), then age
(``max_age_days``), then the low-water mark: while the archive's file system has less than
``low_water_bytes`` free, the oldest instances nothing needs go until the bytes they free make
up the shortfall. Just before each deletion the instance is checked again against the forwards
and the disc jobs (one may have been queued meanwhile). The choosing reads in a read-only
transaction (on SQLite it never holds the write lock ingest needs); each deletion is its own.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from publisher import audit
from publisher.archive.purged import purge
from publisher.config import DiscRule
from publisher.config.retention import RetentionSettings
from publisher.db.models import ForwardItem, utcnow
from publisher.db.session import Database
from publisher.retention import policy

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    """What one run deleted: reason -> SOP Instance UIDs, and the bytes freed."""

    purged: dict[str, list[str]] = field(default_factory=dict)
    freed: int = 0
    studies: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.purged.values())


class Retention:
    """Purges the archive at ``root`` by ``settings``; :meth:`run` once, or :meth:`start` a thread.
    ``free_bytes`` says how much the archive's file system has free (default: statvfs)."""

    def __init__(self, db: Database, root: Path, settings: RetentionSettings, rules: Sequence[DiscRule] = (), *,
                 now: Callable[[], dt.datetime] = utcnow, free_bytes: Callable[[], int] | None = None) -> None:
        self.db, self.root, self.settings, self.rules, self.now = db, root, settings, tuple(rules), now
        self.free_bytes = free_bytes or (lambda: shutil.disk_usage(root).free)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self) -> RunReport:
        """One purge run (nothing in ``keep`` mode)."""
        report = RunReport()
        if self.settings.mode != "buffer":
            return report
        now = self.now()
        with self.db.reading() as s:
            chosen = policy.buffer_deletable(s, self.rules, self.settings.grace_hours, now)
        self._delete(chosen, "buffer", report)
        if self.settings.max_age_days > 0:
            with self.db.reading() as s:
                old = list(policy.unneeded(s, now - dt.timedelta(days=self.settings.max_age_days)))
            self._delete(old, "max-age", report)
        if self.settings.low_water_bytes > 0:
            short = self.settings.low_water_bytes - self.free_bytes()
            if short > 0:
                self._delete(self._oldest(short), "low-water", report)
        if report.count:
            self._audit(report)
        return report

    def _oldest(self, short: int) -> list[policy.Candidate]:
        """The oldest instances nothing needs whose sizes make up ``short`` bytes."""
        out, total = [], 0
        with self.db.reading() as s:
            for c in policy.unneeded(s):
                out.append(c)
                total += c.size
                if total >= short:
                    break
        return out

    def _delete(self, chosen: Iterable[policy.Candidate], reason: str, report: RunReport) -> None:
        batch: list[policy.Candidate] = []
        for c in chosen:
            batch.append(c)
            if len(batch) >= 100:
                self._delete_batch(batch, reason, report)
                batch = []
        if batch:
            self._delete_batch(batch, reason, report)

    def _delete_batch(self, batch: list[policy.Candidate], reason: str, report: RunReport) -> None:
        with self.db.reading() as s:  # checked again: a job or a forward may need them since
            jobs = policy.needed_by_jobs(s)
            waiting = set(s.scalars(select(ForwardItem.sop_instance_uid).where(
                ForwardItem.sop_instance_uid.in_([c.sop_instance_uid for c in batch]), ForwardItem.state.in_(policy.WAITING))))
        for c in batch:
            if c.sop_instance_uid in waiting or jobs.covers(c.study_instance_uid, c.series_instance_uid, c.patient):
                continue
            gone = purge(self.db, self.root, c.sop_instance_uid, reason)
            if gone is None:
                continue
            report.purged.setdefault(reason, []).append(c.sop_instance_uid)
            report.studies.add(c.study_instance_uid)
            report.freed += gone.size

    def _audit(self, report: RunReport) -> None:
        detail = {"instances": report.count, "bytes": report.freed, "mode": self.settings.mode,
                  "by_reason": {k: len(v) for k, v in report.purged.items()}, "studies": sorted(report.studies)[:1000]}
        with self.db.session() as s:
            audit.record(s, "service", "purge", f"{report.count} instance(s)", detail)
        log.info("retention purged %d instance(s), %.1f MB: %s", report.count, report.freed / 1e6, detail["by_reason"])

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run()
            except Exception:  # noqa: BLE001 - the loop survives a bad moment of the database
                log.exception("retention run failed")
            self._stop.wait(self.settings.tick_seconds)
