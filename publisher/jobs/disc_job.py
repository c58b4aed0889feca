"""Running disc jobs: selection -> master the volumes -> burn, verify and label on a robot.

Each step ends with the job's new state committed, so a killed service resumes from the last
finished step (:func:`recover`). Plain function calls on plain data, as docs/architecture.md, section 2 draws
it: :mod:`publisher.jobs.selection` reads the index, :func:`publisher.media.master` makes the
images, :mod:`publisher.labels` renders the labels and a :class:`robot_drivers.Robot` burns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import robot_drivers
from robot_drivers import Blank
from sqlalchemy import select
from viewer_bundle import FrameCache

from publisher.db.models import DiscJob, utcnow
from publisher.db.session import Database
from publisher import audit
from publisher.jobs.burn_progress import SCALE, CancelWatch, DiscProgress, master_progress, settled_progress
from publisher.jobs.labels import label_for, merge_fields, render_labels, summary
from publisher.jobs.purged import Fetch, fetch_purged, has_purged
from publisher.jobs.preflight import exclude_more, exclusions, label_check, problems_json
from publisher.jobs.records import Disc, Volume, dump_discs, dump_exclusions, dump_volumes, load_volumes
from publisher.jobs.selection import EmptySelection, Selection, select_instances
from publisher.jobs.state import ON_RESTART, JobState, check
from publisher.jobs.viewer import master_with_viewer
from publisher.labels import LabelDoesNotFit
from publisher.media import MediaError, MediaType
from publisher.media import Volume as MasteredVolume
from publisher.media.preflight import SelectionRefused
from publisher.progress import Progress

log = logging.getLogger(__name__)

#: Every service media type -> the blank a robot loads for it (each robot says whether it can,
#: and refuses the others by name: robot_drivers' media_refusal); None: written as a folder, no
#: robot involved. Total over :class:`MediaType` (tests/jobs/test_media_mapping.py).
BLANKS: Mapping[MediaType, Blank | None] = {
    MediaType.CD: Blank.CD_R,
    MediaType.DVD: Blank.DVD_R,
    MediaType.DVD_DL: Blank.DVD_R_DL,
    MediaType.BD: Blank.BD_R,
    MediaType.BD_DL: Blank.BD_R_DL,
    MediaType.USB: None,
    MediaType.FOLDER: None,
}
#: The media a robot burns, each with its blank.
ROBOT_MEDIA: Mapping[MediaType, Blank] = {m: b for m, b in BLANKS.items() if b is not None}
#: Media written as a folder: no robot involved.
FOLDER_MEDIA = frozenset(m for m, b in BLANKS.items() if b is None)


@dataclass(frozen=True)
class JobContext:
    """What running a job needs: the index, where files live, the robot, the label template."""

    db: Database
    archive_root: Path
    jobs_root: Path
    robot: robot_drivers.Robot
    institution: str = ""
    viewer: bool = True
    #: every configured robot by name (``[[robots]]``); a job's ``robot`` picks one, "" the default
    robots: Mapping[str, robot_drivers.Robot] = field(default_factory=dict)

    def robot_for(self, name: str) -> robot_drivers.Robot:
        """The robot called ``name`` (the default one for ""); KeyError if none is configured so."""
        if not name or name == getattr(self.robot, "name", None) and name not in self.robots:
            return self.robot
        if name not in self.robots:
            raise KeyError(f"no robot {name!r} is configured; configured: {', '.join(self.robots) or 'the default only'}")
        return self.robots[name]
    #: Encoded viewer frames kept for re-burns and other volume sets (:func:`viewer.viewer_cache`).
    viewer_cache: FrameCache | None = None
    #: Fetches instances retention purged back before mastering (:mod:`publisher.jobs.purged`).
    fetch_purged: Fetch | None = None


def create_job(db: Database, selection: Selection, *, media: MediaType | str = MediaType.CD, copies: int = 1, comment: str = "",
               profile: str = "", created_by: str = "", compress: bool = False,
               exclude: dict[str, str] | None = None, robot: str = "") -> int:
    """Queue a job; the selection is checked against the index now, so a typo fails at once.
    ``compress``: compress native images losslessly where the profile allows; ``exclude``:
    SOP Instance UID -> reason, left out of the discs (README.TXT and INDEX.HTM list them)."""
    if copies < 1:
        raise ValueError(f"copies must be at least 1, not {copies}")
    media = MediaType(media)
    try:
        with db.session() as s:
            select_instances(s, selection, Path("."))  # raises EmptySelection with what was asked
    except EmptySelection:
        if not has_purged(db, selection):  # a purged study is fetched back before mastering
            raise
    with db.session() as s:
        job = DiscJob(state=JobState.QUEUED.value, created_by=created_by[:64], media=media.value,
                      profile=profile, copies=copies, comment=comment[:256], compress=compress,
                      exclude=dump_exclusions(exclude or {}), selection=selection.dumps(), robot=robot[:64])
        s.add(job)
        s.flush()
        return int(job.id)


def _move(db: Database, job_id: int, target: JobState, **fields: Any) -> None:
    """Change a job's state in one transaction, the row locked (SELECT ... FOR UPDATE; SQLite's
    BEGIN IMMEDIATE serialises writers), so two runners can never both claim a queued job."""
    with db.session() as s:
        job = s.get(DiscJob, job_id, with_for_update=True)
        assert job is not None
        check(job.state, target)
        job.state = target.value
        job.updated_at = utcnow()
        for k, v in fields.items():
            setattr(job, k, v)


def recover(db: Database) -> list[int]:
    """Apply :data:`ON_RESTART` to jobs a stopped service left half-way; returns their ids."""
    moved = []
    with db.session() as s:
        for job in s.scalars(select(DiscJob).where(DiscJob.state.in_([st.value for st in ON_RESTART]))):
            target = ON_RESTART[JobState(job.state)]
            if target is JobState.FAILED:
                job.error = "interrupted while burning: check the robot's output bin, then resubmit to burn again"
            job.state = target.value
            job.updated_at = utcnow()
            moved.append(int(job.id))
    return moved


def resubmit(db: Database, job_id: int, *, exclude: Sequence[str] = (), exclude_problems: bool = False) -> None:
    """A person asks for a failed job again (it will be mastered and burned anew), optionally
    leaving out ``exclude`` (SOP Instance UIDs) and, with ``exclude_problems``, every instance
    its last planning refused (each with the reason planning gave)."""
    with db.session() as s:
        job = s.get(DiscJob, job_id)
        if job is None:
            raise KeyError(f"no disc job {job_id}")
        excluded = exclude_more(job.exclude, job.problems, exclude, all_problems=exclude_problems)
    _move(db, job_id, JobState.QUEUED, error="", discs="[]", volumes="[]", exclude=excluded)


class _ProgressWriter:
    """Job progress into the database, at most a few times a second (for the web UI)."""

    def __init__(self, db: Database, job_id: int, also: Progress | None, every: float = 0.5) -> None:
        self.db, self.job_id, self.also, self.every = db, job_id, also, every
        self._last = 0.0
        self._message = ""

    def __call__(self, done: int, total: int, message: str) -> None:
        if self.also is not None:
            self.also(done, total, message)
        now = time.monotonic()
        if now - self._last < self.every and done < total and message == self._message:
            return  # a new message (e.g. "waiting for the operator") is always written
        self._last, self._message = now, message
        with self.db.session() as s:
            job = s.get(DiscJob, self.job_id)
            if job is not None:
                job.progress_done, job.progress_total, job.progress_message = done, total, message[:128]


def run_job(ctx: JobContext, job_id: int, progress: Progress | None = None) -> JobState:
    """Take a job as far as it goes: queued -> mastered -> done (or failed). Returns its state."""
    with ctx.db.session() as s:
        job = s.get(DiscJob, job_id)
        if job is None:
            raise KeyError(f"no disc job {job_id}")
        state = JobState(job.state)
    if state is JobState.QUEUED:
        state = master_job(ctx, job_id, progress)
    if state is JobState.MASTERED:
        state = burn_job(ctx, job_id, progress)
    return state


def master_job(ctx: JobContext, job_id: int, progress: Progress | None = None) -> JobState:
    """The first step alone: a queued job -> mastered (or failed). Raises
    :class:`~publisher.jobs.state.InvalidTransition` if the job is not queued (e.g. another
    runner took it)."""
    return _master_step(ctx, job_id, _ProgressWriter(ctx.db, job_id, progress))


def burn_job(ctx: JobContext, job_id: int, progress: Progress | None = None) -> JobState:
    """The second step alone: a mastered job -> done (or failed). Safe to call for several
    jobs at once from several threads: :meth:`robot_drivers.Robot.burn` is thread safe, and
    the job's state moves under its row lock, so a job is burned by one caller only."""
    return _burn_step(ctx, job_id, _ProgressWriter(ctx.db, job_id, progress))


def _master_step(ctx: JobContext, job_id: int, progress: Progress) -> JobState:
    _move(ctx.db, job_id, JobState.MASTERING, error="")
    with ctx.db.session() as s:
        job = s.get(DiscJob, job_id)
        assert job is not None
        selection = Selection.loads(job.selection)
        media, profile, actor = MediaType(job.media), job.profile or None, job.created_by
        compress, exclude, comment = bool(job.compress), exclusions(job.exclude), job.comment
    out_dir = ctx.jobs_root / f"job{job_id:06d}"
    try:
        missing = fetch_purged(ctx.db, selection, ctx.fetch_purged, exclude)
    except Exception as exc:  # the network or the database: fail the job, saying so
        missing = f"retrieval of purged instances failed: {exc.__class__.__name__}: {exc}"
    if missing:
        _move(ctx.db, job_id, JobState.FAILED, error=missing)
        return JobState.FAILED
    try:
        with ctx.db.session() as s:
            instances, rejected = select_instances(s, selection, ctx.archive_root)
        volumes = master_with_viewer(instances, media, out_dir, rejected=rejected, viewer=ctx.viewer,
                                     institution=ctx.institution, profile=profile, exclude=exclude, compress=compress,
                                     check=label_check(comment=comment, institution=ctx.institution, viewer=ctx.viewer),
                                     progress=master_progress(progress, burns=BLANKS[media] is not None),
                                     cache=ctx.viewer_cache)
        described = [render_labels(_volume_record(v), comment=comment, institution=ctx.institution, out_dir=out_dir,
                                   viewer=ctx.viewer) for v in volumes]
    except SelectionRefused as exc:  # planning: nothing was mastered
        _move(ctx.db, job_id, JobState.FAILED, error=f"planning: {exc}", problems=problems_json(exc.problems))
        return JobState.FAILED
    except LabelDoesNotFit as exc:
        _move(ctx.db, job_id, JobState.FAILED, error=f"planning: {exc}")
        return JobState.FAILED
    except (EmptySelection, MediaError, OSError) as exc:
        _move(ctx.db, job_id, JobState.FAILED, error=f"mastering failed: {exc}")
        return JobState.FAILED
    except Exception as exc:  # a bug must fail the job, not leave it to be retried at every start
        log.exception("disc job %d: mastering failed", job_id)
        _move(ctx.db, job_id, JobState.FAILED, error=f"mastering failed: {exc.__class__.__name__}: {exc}")
        return JobState.FAILED
    with ctx.db.session() as s:
        audit.record_volumes(s, actor or "service", volumes, sum(1 for i in instances if i.sop_instance_uid in rejected))
    _move(ctx.db, job_id, JobState.MASTERED, volumes=dump_volumes(described), problems="[]")
    return JobState.MASTERED


def _volume_record(v: MasteredVolume) -> Volume:
    s = summary(v.number, v.count, v.instances)
    return Volume(number=s.number, count=s.count, patients=s.patients, study_dates=s.study_dates,
                  modalities=s.modalities, descriptions=s.descriptions, file_set_id=v.file_set_id,
                  image=str(v.image or v.root), size=v.size)


def _burn_step(ctx: JobContext, job_id: int, progress: Progress) -> JobState:
    with ctx.db.session() as s:
        job = s.get(DiscJob, job_id)
        assert job is not None
        volumes = load_volumes(job.volumes)
        copies, comment, media, actor, robot_name = job.copies, job.comment, MediaType(job.media), job.created_by, job.robot
    blank = BLANKS[media]
    if blank is None:
        _move(ctx.db, job_id, JobState.DONE, progress_done=SCALE, progress_total=SCALE)  # the folder is the volume
        return JobState.DONE
    _move(ctx.db, job_id, JobState.BURNING)
    discs: list[Disc] = []
    tracker = DiscProgress(progress, len(volumes), copies)
    try:
        robot = ctx.robot_for(robot_name)
        with CancelWatch(ctx.db, job_id, lambda: cancel_burn(ctx, job_id)) as watch:
            for v in volumes:
                if watch.requested:
                    raise robot_drivers.JobCancelled(f"cancelled before disc {v.number} of {v.count} was started")
                label = label_for(v, comment=comment, institution=ctx.institution, out_dir=ctx.jobs_root / f"job{job_id:06d}")
                tracker.write(f"burning disc {v.number} of {v.count}" if v.count > 1 else "")
                result = robot.burn(Path(v.image), copies,
                                    label=robot_drivers.LabelSpec(file=label, merge_fields=merge_fields(
                                        v, comment=comment, institution=ctx.institution)),
                                    media=blank, volume_name=v.file_set_id[:32],
                                    job_id=burn_id(job_id, v.number), notify=tracker.write,
                                    on_disc=tracker.for_volume(v.number))
                discs += [_disc_record(v, d) for d in result.discs]
                good = sum(1 for d in result.discs if d.ok)
                if good < copies:  # a driver must raise Shortfall; never count a missing copy as made
                    raise robot_drivers.Shortfall(f"disc {v.number}: the robot made {good} good of {copies} "
                                                  f"copies", discs=())
    except Exception as exc:  # typed robot errors, and anything unexpected: the robot's state is unknown
        if not isinstance(exc, (robot_drivers.RobotError, KeyError)):
            log.exception("disc job %d: burning failed", job_id)
        discs += [_disc_record(v, d) for d in getattr(exc, "discs", ())]
        end = JobState.CANCELLED if isinstance(exc, robot_drivers.JobCancelled) else JobState.FAILED
        progress(*settled_progress(dump_discs(discs), len(volumes) * copies))
        _move(ctx.db, job_id, end, discs=dump_discs(discs), error=f"{exc.__class__.__name__}: {exc}")
        _audit_burn(ctx, actor, job_id, discs, str(exc))
        return end
    progress(SCALE, SCALE, tracker.message())
    _audit_burn(ctx, actor, job_id, discs, "")  # rejected discs the robot made again are in the record
    _move(ctx.db, job_id, JobState.DONE, discs=dump_discs(discs))
    return JobState.DONE


def burn_id(job_id: int, volume: int) -> str:
    """The id a job's volume is burned under (the robot adds its own per attempt)."""
    return f"J{job_id:06d}V{volume}"


def cancel_burn(ctx: JobContext, job_id: int) -> bool:
    """Ask the robot to stop the burning job ``job_id`` (it then ends cancelled); True if it was
    burning on this process' robot."""
    with ctx.db.session() as s:
        job = s.get(DiscJob, job_id)
        volumes = load_volumes(job.volumes) if job is not None else []
        name = job.robot if job is not None else ""
    try:
        robot = ctx.robot_for(name)
    except KeyError:
        return False
    return any([robot.cancel(burn_id(job_id, v.number)) for v in volumes])


def _disc_record(volume: Volume, d: robot_drivers.DiscResult) -> Disc:
    return Disc(volume.number, d.copy_index, d.ok, d.bin.value, d.sha256, d.error)


def _audit_burn(ctx: JobContext, actor: str, job_id: int, discs: Sequence[Disc], error: str) -> None:
    with ctx.db.session() as s:
        audit.record(s, actor or "service", "burn", f"job {job_id}",
                     {"robot": _robot_name(ctx.robot), "discs": [d.to_json() for d in discs], "error": error})


def _robot_name(robot: robot_drivers.Robot) -> str:
    """The robot's kind as the audit and the job pages show it; an experimental driver says so."""
    kind = getattr(robot, "kind", type(robot).__name__)
    return f"{kind} (experimental)" if getattr(robot, "experimental", False) else kind
