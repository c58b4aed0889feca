"""Media creation requests from a PACS (PS3.4 Annex S) as disc jobs: the one owner of the
``media_request`` rows (docs/architecture.md, section 3: dicom calls this, never SQL).

A request lives through: created (N-CREATE, S.3.2) -> initiated (N-ACTION Initiate, S.3.3;
the instances we lack are being fetched) -> queued (its :class:`~publisher.db.models.DiscJob`
made) or failed; created / initiated / queued -> cancelled (N-ACTION Cancel). Its Execution
Status (PS3.3 C.22.1: IDLE, PENDING, CREATING, DONE, FAILURE) follows from that and the disc
job's state, so it is right after a restart too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from publisher.db.models import DiscJob, MediaRequest, utcnow
from publisher.db.session import Database
from publisher.jobs.disc_job import create_job
from publisher.jobs.records import Selection, load_volumes
from publisher.jobs.state import JobState, check
from publisher.media import MediaType

class RequestState(StrEnum):
    CREATED = "created"
    INITIATED = "initiated"
    QUEUED = "queued"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DuplicateRequest(ValueError):
    """A request with this SOP Instance UID exists (N-CREATE status 0111H)."""


class UnknownRequest(KeyError):
    """No request with this SOP Instance UID (status 0112H)."""


class AlreadyInitiated(ValueError):
    """N-ACTION Initiate received twice for one request (status A510H, PS3.4 S.3.3.1.2)."""


class Cancel(StrEnum):
    """What a cancel found (PS3.4 S.3.3.1.3)."""

    CANCELLED = "cancelled"
    COMPLETED = "completed"  # C201H: already completed
    IN_PROGRESS = "in-progress"  # C202H: in progress and cannot be interrupted
    BURNING = "burning"  # the robot must be asked: the caller does it with the job id
    DENIED = "denied"  # C203H: already failed or cancelled


@dataclass(frozen=True)
class RequestView:
    """A request as N-GET reports it (PS3.4 S.3.4; PS3.3 C.22.1)."""

    uid: str
    state: RequestState
    refs: tuple[tuple[str, str], ...]
    attributes: dict[str, Any]
    failed: tuple[tuple[str, str, int], ...] = ()
    job_id: int | None = None
    job_state: JobState | None = None
    error: str = ""
    discs_made: int = 0
    file_sets: tuple[str, ...] = ()
    progress: tuple[int, int] = (0, 0)

    @property
    def execution_status(self) -> str:
        """Execution Status (2100,0020), PS3.3 C.22.1."""
        if self.state is RequestState.CREATED:
            return "IDLE"
        if self.state in (RequestState.FAILED, RequestState.CANCELLED):
            return "FAILURE"
        if self.job_state is None or self.job_state is JobState.QUEUED:
            return "PENDING"
        if self.job_state is JobState.DONE:
            return "DONE"
        if self.job_state in (JobState.FAILED, JobState.CANCELLED):
            return "FAILURE"
        return "CREATING"

    @property
    def execution_status_info(self) -> str:
        """Execution Status Info (2100,0030): NORMAL, or why it stopped (docs/conformance.md)."""
        if self.state is RequestState.CANCELLED or self.job_state is JobState.CANCELLED:
            return "CANCELLED"
        if self.state is RequestState.FAILED:
            return "NO_INSTANCES" if self.failed else "FAILED"
        if self.job_state is JobState.FAILED:
            return "FAILED"
        if self.state is RequestState.INITIATED:
            return "RETRIEVING"
        return "NORMAL"


def create(db: Database, uid: str, calling_ae: str, refs: Sequence[tuple[str, str]], attributes: dict[str, Any]) -> None:
    """Store a new request (N-CREATE, PS3.4 S.3.2.1.3); raises :class:`DuplicateRequest`."""
    with db.session() as s:
        if s.query(MediaRequest.id).filter_by(sop_instance_uid=uid).first() is not None:
            raise DuplicateRequest(uid)
        s.add(MediaRequest(sop_instance_uid=uid, calling_ae=calling_ae[:16], state=RequestState.CREATED.value,
                           refs=json.dumps([list(r) for r in refs]), attributes=json.dumps(attributes), failed="[]",
                           error=""))


def get(db: Database, uid: str) -> RequestView:
    """The request and its disc job's progress; raises :class:`UnknownRequest`."""
    with db.session() as s:
        row = s.query(MediaRequest).filter_by(sop_instance_uid=uid).first()
        if row is None:
            raise UnknownRequest(uid)
        job = s.get(DiscJob, row.job_id) if row.job_id is not None else None
        discs = json.loads(job.discs or "[]") if job is not None else []
        volumes = load_volumes(job.volumes) if job is not None else []
        return RequestView(
            uid=uid, state=RequestState(row.state),
            refs=tuple((str(c), str(i)) for c, i in json.loads(row.refs)),
            attributes=json.loads(row.attributes or "{}"),
            failed=tuple((str(c), str(i), int(r)) for c, i, r in json.loads(row.failed or "[]")),
            job_id=row.job_id, job_state=JobState(job.state) if job is not None else None,
            error=row.error or (job.error if job is not None else ""),
            discs_made=sum(1 for d in discs if d.get("ok")),
            file_sets=tuple(v.file_set_id for v in volumes),
            progress=(int(job.progress_done), int(job.progress_total)) if job is not None else (0, 0),
        )


def initiate(db: Database, uid: str) -> RequestView:
    """created -> initiated, once (PS3.4 S.3.3.1.2): raises :class:`AlreadyInitiated` after
    the first, :class:`UnknownRequest` for no such request."""
    with db.session() as s:
        row = s.query(MediaRequest).filter_by(sop_instance_uid=uid).with_for_update().first()
        if row is None:
            raise UnknownRequest(uid)
        if row.state != RequestState.CREATED.value:
            raise AlreadyInitiated(uid)
        row.state, row.updated_at = RequestState.INITIATED.value, utcnow()
    return get(db, uid)


def initiated(db: Database) -> list[str]:
    """Requests initiated but without a job yet (a restart resumes their fetching)."""
    with db.session() as s:
        return [str(u) for (u,) in s.query(MediaRequest.sop_instance_uid).filter_by(state=RequestState.INITIATED.value)]


def queue_job(db: Database, uid: str, held: Sequence[str], failed: Sequence[tuple[str, str, int]], *,
              media: MediaType | str, copies: int, comment: str, error: str = "") -> int | None:
    """An initiated request becomes a disc job of the ``held`` instances (the ``failed`` ones
    go in its Failed SOP Sequence); with none held, or cancelled meanwhile, no job is made."""
    with db.session() as s:
        row = s.query(MediaRequest).filter_by(sop_instance_uid=uid).with_for_update().first()
        if row is None or row.state != RequestState.INITIATED.value:
            return None
        row.failed = json.dumps([list(f) for f in failed])
        row.updated_at = utcnow()
        if not held:
            row.state, row.error = RequestState.FAILED.value, error or "none of the referenced instances is available"
            return None
        actor = f"dicom:{row.calling_ae}"  # the audit names the AE that ordered the discs
    job_id = create_job(db, Selection(instances=tuple(held)), media=media, copies=copies, comment=comment,
                        created_by=actor)
    with db.session() as s:
        row = s.query(MediaRequest).filter_by(sop_instance_uid=uid).first()
        assert row is not None
        row.state, row.job_id, row.updated_at = RequestState.QUEUED.value, job_id, utcnow()
    return job_id


def cancel(db: Database, uid: str) -> tuple[Cancel, int | None]:
    """N-ACTION Cancel (PS3.4 S.3.3.1.3): what it did, and the job id when the robot must be
    asked to stop a burning job. Raises :class:`UnknownRequest`."""
    with db.session() as s:
        row = s.query(MediaRequest).filter_by(sop_instance_uid=uid).with_for_update().first()
        if row is None:
            raise UnknownRequest(uid)
        if row.state in (RequestState.FAILED.value, RequestState.CANCELLED.value):
            return Cancel.DENIED, None
        if row.job_id is None:
            row.state, row.updated_at = RequestState.CANCELLED.value, utcnow()
            return Cancel.CANCELLED, None
        job = s.get(DiscJob, row.job_id, with_for_update=True)
        assert job is not None
        state = JobState(job.state)
        if state is JobState.DONE:
            return Cancel.COMPLETED, None
        if state is JobState.BURNING:
            return Cancel.BURNING, int(job.id)
        try:
            check(job.state, JobState.CANCELLED)
        except ValueError:
            return (Cancel.DENIED if state is JobState.CANCELLED else Cancel.IN_PROGRESS), None
        job.state, job.updated_at = JobState.CANCELLED.value, utcnow()
        row.state, row.updated_at = RequestState.CANCELLED.value, utcnow()
        return Cancel.CANCELLED, None


class MediaOrderBook:
    """The requests of one database as :class:`publisher.dicom.media_scp.MediaOrders` wants
    them (plain answers, no exceptions): what the service hands to the DICOM server."""

    def __init__(self, db: Database, media: MediaType | str) -> None:
        self.db, self.media = db, MediaType(media)

    def create(self, uid: str, calling_ae: str, refs: Sequence[tuple[str, str]], attributes: dict[str, Any]) -> bool:
        try:
            create(self.db, uid, calling_ae, refs, attributes)
        except DuplicateRequest:
            return False
        return True

    def get(self, uid: str) -> RequestView | None:
        try:
            return get(self.db, uid)
        except UnknownRequest:
            return None

    def initiate(self, uid: str) -> str:
        """"ok", "unknown" or "again" (initiated before)."""
        try:
            initiate(self.db, uid)
        except UnknownRequest:
            return "unknown"
        except AlreadyInitiated:
            return "again"
        return "ok"

    def initiated(self) -> list[str]:
        return initiated(self.db)

    def queue_job(self, uid: str, held: Sequence[str], failed: Sequence[tuple[str, str, int]], *, copies: int,
                  comment: str, error: str = "") -> int | None:
        return queue_job(self.db, uid, held, failed, media=self.media, copies=copies, comment=comment, error=error)

    def cancel(self, uid: str) -> tuple[str, int | None] | None:
        try:
            outcome, job_id = cancel(self.db, uid)
        except UnknownRequest:
            return None
        return outcome.value, job_id
