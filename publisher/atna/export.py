"""The durable queue of audit messages and the thread that empties it (IHE ATNA, PS3.15 A.5-A.7).

The queue is the audit trail itself: an ``audit_event`` row is committed with the action it
records (publisher.audit), with ``sent_at`` NULL. The exporter sends the waiting rows in ``id``
order, a batch at a time, and sets ``sent_at`` only after their messages were handed to the
repository's connection; while the repository is unreachable it stops at the first event that
could not go and tries again ``retry_seconds`` later. Nothing is kept only in memory, so a
killed process (SIGKILL, power loss) loses nothing: the next start sends what was not marked.
The price is "at least once": events whose messages went out just before a kill, but whose
marks did not commit (at most one batch), are sent again.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update

from publisher.atna import events, syslog
from publisher.atna import xml as X
from publisher.config import AuditSettings
from publisher.db.models import AuditEvent, DiscJob, utcnow
from publisher.db.session import Database

log = logging.getLogger(__name__)

#: Events read from the queue at a time.
BATCH = 100


def endpoint_of(settings: AuditSettings) -> syslog.Endpoint:
    return syslog.Endpoint(settings.host, settings.port, settings.transport, settings.ca_file, settings.cert_file,
                           settings.key_file, settings.check_hostname)


def _recorded(e: AuditEvent) -> events.Recorded:
    try:
        detail = json.loads(e.detail or "{}")
    except ValueError:
        detail = {}
    return events.Recorded(e.id, e.at, e.actor, e.action, e.subject, detail if isinstance(detail, dict) else {})


class AuditExporter:
    """Sends the audit trail's waiting events to the repository of ``[audit]``."""

    def __init__(self, db: Database, settings: AuditSettings, *, source_id: str, site_id: str = "") -> None:
        self.db = db
        self.settings = settings
        self.source = events.Source(settings.source_id or source_id, settings.site_id or site_id, socket.gethostname())
        self.sender = syslog.Sender(endpoint_of(settings))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: The last delivery problem ("" while the repository takes our messages).
        self.last_error = ""

    # -- the queue ---------------------------------------------------------------------------
    def waiting(self) -> int:
        """Events not yet handed to the repository."""
        with self.db.session() as s:
            return int(s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.sent_at.is_(None))) or 0)

    def _volumes(self, s: Any, event: events.Recorded) -> dict[str, events.Exported]:
        """File-set ID -> what is on it, for the Exports of a burn or a hand-over: the volumes'
        ``media-export`` events (the latest of each File-set ID)."""
        job_volumes: Sequence[Mapping[str, Any]] = ()
        if event.action == "burn" and event.subject.startswith("job "):
            job = s.get(DiscJob, int(event.subject[4:])) if event.subject[4:].isdigit() else None
            job_volumes = json.loads(job.volumes or "[]") if job is not None else ()
        fsids = events.file_set_ids(event, job_volumes)
        out: dict[str, events.Exported] = {fsid: events.Exported() for fsid in fsids}
        if fsids:
            rows = s.scalars(select(AuditEvent).where(AuditEvent.action == "media-export", AuditEvent.subject.in_(fsids),
                                                      AuditEvent.id < event.id).order_by(AuditEvent.id))
            for row in rows:
                out[row.subject] = events.exported(_recorded(row).detail)
        return out

    def messages_of(self, s: Any, row: AuditEvent) -> list[bytes]:
        """The syslog messages of one audit row (none for an action without an A.5.3 message)."""
        event = _recorded(row)
        volumes = self._volumes(s, event) if event.action in ("burn", "handout") else None
        out = []
        for message in events.build(event, self.source, volumes):
            failure = message.find("EventIdentification").get("EventOutcomeIndicator") != X.SUCCESS  # type: ignore[union-attr]
            out.append(syslog.format_message(X.to_bytes(message), event.at, hostname=self.source.node,
                                             app_name=self.source.source_id, failure=failure))
        return out

    def _batch(self) -> list[tuple[int, list[bytes]]]:
        """The next waiting events, oldest first, with their messages."""
        out = []
        with self.db.session() as s:
            rows = s.scalars(select(AuditEvent).where(AuditEvent.sent_at.is_(None)).order_by(AuditEvent.id).limit(BATCH))
            for row in list(rows):
                try:
                    out.append((row.id, self.messages_of(s, row)))
                except Exception:  # a malformed old row must not hold back the whole trail
                    log.exception("audit event %d has no DICOM audit message; left out of the export", row.id)
                    out.append((row.id, []))
        return out

    def send_waiting(self) -> int:
        """Send waiting events in order until none is left or the repository fails; returns
        how many were marked sent. Events are marked a batch at a time, after their messages
        went out (a kill in between sends them again). A failure is kept in :attr:`last_error`."""
        done = 0
        while not self._stop.is_set():
            batch = self._batch()
            if not batch:
                return done
            sent: list[int] = []
            try:
                for event_id, messages in batch:
                    if self._stop.is_set():
                        break
                    for m in messages:
                        self.sender.send(m)
                    sent.append(event_id)
            except syslog.SyslogError as exc:
                if str(exc) != self.last_error:
                    log.warning("audit export waits: %s (%d event(s) queued)", exc, self.waiting() - len(sent))
                self.last_error = str(exc)
            finally:
                if sent:
                    with self.db.session() as s:
                        s.execute(update(AuditEvent).where(AuditEvent.id.in_(sent)).values(sent_at=utcnow()))
                    done += len(sent)
            if len(sent) < len(batch):
                return done
            if self.last_error:
                log.info("audit export: the repository takes messages again")
                self.last_error = ""
        return done

    # -- the thread --------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audit-export", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_waiting()
            except Exception:  # the database away for a moment: try again, never die
                log.exception("audit export failed; trying again")
                self.last_error = "internal error"
            self._stop.wait(self.settings.retry_seconds if self.last_error else self.settings.poll_seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.sender.close()
