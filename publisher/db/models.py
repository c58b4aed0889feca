"""The index: SQLAlchemy 2 typed models of the DICOM information model (PS3.3 A.1.2).

Patient -> Study -> Series -> Instance, carrying every attribute the C-FIND SCP returns (see
``../shared/seeds/000_*.txt``), plus where each instance's file is and how it arrived. Names are
stored decoded (Python ``str``) whatever Specific Character Set they came in, and a
case-folded copy (``*_norm``) serves wildcard searches the same way on every database.
Counts (Number of Study Related Instances ...) and the time of the last arrival per study are
computed by SQL from the instance rows, never stored twice: parents are only ever inserted,
never updated per instance, so concurrent associations into one study do not contend.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

UID = String(64)  # PS3.5 UI: at most 64 characters
LO = String(64)
PN = String(324)  # PS3.5 PN: 64 chars per component group, three groups, separators


#: A UTC time with microseconds on every backend: MariaDB/MySQL's plain DATETIME keeps whole
#: seconds, which made "arrived after this job was created" ambiguous within a second.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def utcnow() -> dt.datetime:
    """Naive UTC now: stored identically by SQLite, PostgreSQL and MariaDB."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Patient(Base):
    """One patient, identified by Patient ID within its Issuer of Patient ID; without a Patient
    ID, one patient per study (:mod:`publisher.archive.identity`)."""

    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("patient_id", "issuer_of_patient_id", "unidentified_study_uid", name="uq_patient_identity"),
        Index("ix_patient_name_norm", "patient_name_norm"),
        Index("ix_patient_name_search", "patient_name_search"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[str] = mapped_column(LO)
    issuer_of_patient_id: Mapped[str] = mapped_column(LO, default="")
    #: Empty when the patient has a Patient ID; else the Study Instance UID of their only study.
    unidentified_study_uid: Mapped[str] = mapped_column(UID, default="")
    patient_name: Mapped[str] = mapped_column(PN, default="")
    patient_name_norm: Mapped[str] = mapped_column(PN, default="")
    #: Case-folded without accents (``archive.metadata.search_fold``): the study browser's name search.
    patient_name_search: Mapped[str] = mapped_column(PN, default="", server_default="")
    patient_birth_date: Mapped[str] = mapped_column(String(8), default="")
    patient_sex: Mapped[str] = mapped_column(String(16), default="")
    other_patient_ids: Mapped[str] = mapped_column(String(1024), default="")
    specific_character_set: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    studies: Mapped[list[Study]] = relationship(back_populates="patient")


class Study(Base):
    """A study (General Study module, PS3.3 C.7.2.1)."""

    __tablename__ = "study"
    __table_args__ = (
        Index("ix_study_date", "study_date"),
        Index("ix_study_accession", "accession_number"),
        Index("ix_study_patient", "patient_fk"),
        Index("ix_study_created", "created_at"),  # the worklist: newest arrival first
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_fk: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    study_instance_uid: Mapped[str] = mapped_column(UID, unique=True)
    study_date: Mapped[str] = mapped_column(String(8), default="")
    study_time: Mapped[str] = mapped_column(String(16), default="")
    accession_number: Mapped[str] = mapped_column(String(16), default="")
    study_id: Mapped[str] = mapped_column(String(16), default="")
    referring_physician_name: Mapped[str] = mapped_column(PN, default="")
    study_description: Mapped[str] = mapped_column(LO, default="")
    institution_name: Mapped[str] = mapped_column(LO, default="")
    specific_character_set: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    patient: Mapped[Patient] = relationship(back_populates="studies")
    series: Mapped[list[Series]] = relationship(back_populates="study")


class Series(Base):
    """A series (General Series module, PS3.3 C.7.3.1)."""

    __tablename__ = "series"
    __table_args__ = (
        Index("ix_series_study", "study_fk"),
        Index("ix_series_modality", "modality"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_fk: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    series_instance_uid: Mapped[str] = mapped_column(UID, unique=True)
    modality: Mapped[str] = mapped_column(String(16), default="")
    series_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    series_description: Mapped[str] = mapped_column(LO, default="")
    body_part_examined: Mapped[str] = mapped_column(String(16), default="")
    series_date: Mapped[str] = mapped_column(String(8), default="")
    series_time: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)

    study: Mapped[Study] = relationship(back_populates="series")
    instances: Mapped[list[Instance]] = relationship(back_populates="series")


class Instance(Base):
    """One stored SOP instance and its file (PS3.10 file in the archive)."""

    __tablename__ = "instance"
    __table_args__ = (
        Index("ix_instance_series_number", "series_fk", "instance_number"),
        Index("ix_instance_sop_class", "sop_class_uid"),
        # Quiet-period detection (disc rules): what arrived since a moment, per series/study.
        Index("ix_instance_received", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_fk: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    sop_instance_uid: Mapped[str] = mapped_column(UID, unique=True)
    sop_class_uid: Mapped[str] = mapped_column(UID)
    instance_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    transfer_syntax_uid: Mapped[str] = mapped_column(UID)
    specific_character_set: Mapped[str] = mapped_column(String(128), default="")
    path: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    calling_ae: Mapped[str] = mapped_column(String(16), default="")
    peer_address: Mapped[str] = mapped_column(String(64), default="")
    record_keys: Mapped[str | None] = mapped_column(Text, nullable=True)

    series: Mapped[Series] = relationship(back_populates="instances")


class AuditEvent(Base):
    """Every operation worth remembering: who did what to which data (docs/architecture.md, section 7)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_at", "at"), Index("ix_audit_unsent", "sent_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    #: When :mod:`publisher.atna` handed the event to the audit repository (or found it has no
    #: DICOM audit message); NULL: still waiting, the durable queue of the export.
    sent_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True, default=None)


class DiscJob(Base):
    """A request to put a selection on discs: its state lives here, never only in memory, so a
    restarted service resumes every job from its last finished step (docs/architecture.md, section 2)."""

    __tablename__ = "disc_job"
    __table_args__ = (Index("ix_disc_job_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16))
    #: JSON: {"patients": [...], "studies": [...], "series": [...]}
    selection: Mapped[str] = mapped_column(Text)
    media: Mapped[str] = mapped_column(String(16), default="cd")
    profile: Mapped[str] = mapped_column(String(32), default="")
    copies: Mapped[int] = mapped_column(Integer, default=1)
    comment: Mapped[str] = mapped_column(String(256), default="")
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_message: Mapped[str] = mapped_column(String(128), default="")
    #: JSON list of volumes mastered: file_set_id, image, size, number, count
    volumes: Mapped[str] = mapped_column(Text, default="[]")
    #: JSON list of discs produced: volume, copy, ok, bin, sha256, error
    discs: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str] = mapped_column(Text, default="")
    #: compress native images losslessly where the profile allows it ("compress to fit")
    compress: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: JSON {SOP Instance UID: reason}: instances the operator left out of the discs
    exclude: Mapped[str | None] = mapped_column(Text, default="{}")
    #: JSON [{"uid", "what", "reason"}]: instances the last planning found unfit for the medium
    problems: Mapped[str | None] = mapped_column(Text, default="[]")
    #: a person asked to cancel the job while it burns: the burn step stops its robot (issue 14)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: the configured robot (``[[robots]]`` name) the job burns on; "": the default robot
    robot: Mapped[str] = mapped_column(String(64), default="", server_default="")


class WebUser(Base):
    """A person who may log in to the web UI, with one role (docs/architecture.md, section 7). The password is
    kept only as a salted scrypt hash (:mod:`publisher.db.users`); a disabled user cannot log in
    and their open sessions stop working at the next request."""

    __tablename__ = "web_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    #: radiologist, frontdesk or admin (publisher.db.users.ROLES)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    password_changed_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


class ApiToken(Base):
    """A bearer token a script uses for DICOMweb (``Authorization: Bearer``, RFC 6750) in the name
    of one web user and with that user's role (:mod:`publisher.db.tokens`). Only the token's
    SHA-256 is kept; the token itself is shown once, when it is made."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_fk: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginFailure(Base):
    """One failed web login (wrong password or unknown name), kept while it counts towards a
    lockout of its account or its address (:mod:`publisher.db.logins`). An administrator's
    unlock deletes the rows; so does age."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_user", "username", "at"),
        Index("ix_login_failure_address", "address", "at"),
        Index("ix_login_failure_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    #: The name as typed, normalised (lower case); an unknown name counts for its address only.
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))


class ForwardItem(Base):
    """One instance to forward to one destination (:mod:`publisher.routing`): the durable
    forward queue. ``state``: pending (due at ``due_at``), sent (the destination answered
    success), failed (``attempts`` used up or refused for good; ``error`` says why), cancelled,
    held (quarantined by a route, never sent unless a person releases it)."""

    __tablename__ = "forward_item"
    __table_args__ = (
        UniqueConstraint("sop_instance_uid", "destination", name="uq_forward_instance_destination"),
        Index("ix_forward_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(UID)
    destination: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(Timestamp, nullable=True)


class RoutedInstance(Base):
    """An instance the router has looked at (so a restart neither skips nor repeats one)."""

    __tablename__ = "routed_instance"

    instance_fk: Mapped[int] = mapped_column(ForeignKey("instance.id", ondelete="CASCADE"), primary_key=True)
    routed_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)


class MediaRequest(Base):
    """A Media Creation Management SOP Instance (PS3.4 Annex S, PS3.3 C.22.1): a PACS's order
    for discs, kept here so it survives a restart. ``state``: created (N-CREATE received),
    initiated (N-ACTION 1 received, missing instances being fetched), queued (its disc job
    made: ``job_id``), failed, cancelled. Its Execution Status follows from these and the job's
    state (:mod:`publisher.jobs.media_requests`)."""

    __tablename__ = "media_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(UID, unique=True)
    calling_ae: Mapped[str] = mapped_column(String(16), default="")
    state: Mapped[str] = mapped_column(String(16))
    #: JSON [[SOP Class UID, SOP Instance UID], ...]: the Referenced SOP Sequence
    refs: Mapped[str] = mapped_column(Text)
    #: JSON {keyword: value} of the other N-CREATE attributes (Label Text, Number of Copies...)
    attributes: Mapped[str] = mapped_column(Text, default="{}")
    #: JSON [[SOP Class UID, SOP Instance UID, Failure Reason], ...]: the Failed SOP Sequence
    failed: Mapped[str] = mapped_column(Text, default="[]")
    job_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("disc_job.id"), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
class PurgedInstance(Base):
    """An instance retention deleted (:mod:`publisher.retention`): its file and instance row are
    gone, this row keeps what the index must still know, so a disc job naming its study, series
    or patient fetches it back first. Removed when the instance is back in the archive."""

    __tablename__ = "purged_instance"

    sop_instance_uid: Mapped[str] = mapped_column(UID, primary_key=True)
    series_instance_uid: Mapped[str] = mapped_column(UID, index=True)
    study_instance_uid: Mapped[str] = mapped_column(UID, index=True)
    patient_fk: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="SET NULL"), nullable=True, index=True)
    sop_class_uid: Mapped[str] = mapped_column(UID, default="")
    path: Mapped[str] = mapped_column(String(512))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    purged_at: Mapped[dt.datetime] = mapped_column(Timestamp, default=utcnow)
    #: why: "buffer", "max-age" or "low-water"
    reason: Mapped[str] = mapped_column(String(16), default="")
