"""A finished job again: burn it once more, its label re-rendered, and the files a person downloads.

:func:`burn_again` queues a new job with the old one's selection and options. When every
image the old job mastered is still on disk, the new job starts ``mastered`` with those volumes
(burned from the kept image, not re-mastered); when one was purged, it starts ``queued`` and is
mastered anew from the index. Either way the new job is a person's explicit request, audited
(docs/architecture.md, section 7: nothing is burned twice unless a person asks for it).
"""

from __future__ import annotations

from pathlib import Path

from publisher.db.models import DiscJob
from publisher.db.session import Database
from publisher import audit
from publisher.jobs.labels import render_labels
from publisher.jobs.records import Volume, dump_volumes, load_volumes
from publisher.jobs.state import JobState

#: the states a job may be burned again from
AGAIN_FROM = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


def images_kept(job: DiscJob) -> bool:
    """Whether every volume image (or folder) of ``job`` is still on disk."""
    volumes = load_volumes(job.volumes)
    return bool(volumes) and all(v.image and Path(v.image).exists() for v in volumes)


def burn_again(db: Database, job_id: int, actor: str, *, copies: int | None = None, robot: str | None = None) -> int:
    """A new job burning what ``job_id`` burned (``copies``, ``robot``: else the old job's);
    returns its id. Raises KeyError (no such job), ValueError (the job is not finished)."""
    with db.session() as s:
        old = s.get(DiscJob, job_id)
        if old is None:
            raise KeyError(f"no disc job {job_id}")
        if JobState(old.state) not in AGAIN_FROM:
            raise ValueError(f"a {old.state} job cannot be burned again; wait until it is done")
        kept = images_kept(old)
        new = DiscJob(state=JobState.MASTERED.value if kept else JobState.QUEUED.value, created_by=actor[:64],
                      media=old.media, profile=old.profile, copies=copies or old.copies, comment=old.comment,
                      compress=old.compress, exclude=old.exclude, selection=old.selection,
                      volumes=old.volumes if kept else "[]", robot=old.robot if robot is None else robot[:64])
        s.add(new)
        s.flush()
        audit.record(s, actor, "burn-again", audit.job_subject(int(new.id)),
                     {"from_job": job_id, "kept_image": kept, "copies": new.copies, "robot": new.robot})
        return int(new.id)


def label_pdf(db: Database, job_id: int, volume: int, *, out_dir: Path, institution: str, actor: str) -> Path:
    """The label PDF of ``volume`` of job ``job_id`` (rendered again from the job's record when
    the file is gone), audited as ``label-download``. KeyError when there is no such volume."""
    with db.session() as s:
        job = s.get(DiscJob, job_id)
        if job is None:
            raise KeyError(f"no disc job {job_id}")
        volumes = load_volumes(job.volumes)
        found = next((v for v in volumes if v.number == volume), None)
        if found is None:
            raise KeyError(f"job {job_id} has no volume {volume}")
        comment = job.comment
    if not (found.label_pdf and Path(found.label_pdf).is_file()):
        rendered = render_labels(found, comment=comment, institution=institution, out_dir=out_dir)
        _keep(db, job_id, rendered)
        found = rendered
    assert found.label_pdf is not None
    with db.session() as s:
        audit.record(s, actor, "label-download", audit.job_subject(job_id),
                     {"volume": volume, "file_set_id": found.file_set_id, "file": found.label_pdf})
    return Path(found.label_pdf)


def image_file(db: Database, job_id: int, volume: int, *, actor: str) -> tuple[Path, str]:
    """The ISO image of ``volume`` of job ``job_id`` and its File-set ID, audited as
    ``image-download`` (patient data leaves the service). KeyError when there is none (a folder
    or USB job, or the image was purged)."""
    with db.session() as s:
        job = s.get(DiscJob, job_id)
        if job is None:
            raise KeyError(f"no disc job {job_id}")
        found = next((v for v in load_volumes(job.volumes) if v.number == volume), None)
        if found is None or not found.image or not Path(found.image).is_file():
            raise KeyError(f"job {job_id} has no image of volume {volume} on disk (purged, or written as a folder)")
        audit.record(s, actor, "image-download", found.file_set_id,
                     {"job": job_id, "volume": volume, "image": found.image, "size": found.size,
                      "patients": [p.to_json() for p in found.patients]})
        return Path(found.image), found.file_set_id


def _keep(db: Database, job_id: int, volume: Volume) -> None:
    """Store the re-rendered label paths in the job's volume record."""
    with db.session() as s:
        job = s.get(DiscJob, job_id, with_for_update=True)
        if job is None:
            return
        job.volumes = dump_volumes([volume if v.number == volume.number else v for v in load_volumes(job.volumes)])

