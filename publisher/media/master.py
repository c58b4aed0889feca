"""Mastering: from a selection of instances to finished volumes (images or folders).

The composer (plan, file-set, DICOMDIR, PDI, viewer hook) is separate from the writer
(:mod:`publisher.media.iso`), as in dcm4chee-cdw; this module wires them for the CLI and jobs.
"""

from __future__ import annotations

import datetime as _dt
import shutil
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import pydicom

from publisher.media import dicomdir, fileset, pdi
from publisher.media.iso import udf_revision, write_folder, write_image
from publisher.media.model import DiscContent, DiscFile, MediaError, MediaInstance, MediaType, OtherVolume, Volume
from publisher.media.plan import VolumeExtras, VolumePlan, plan_volumes
from publisher.media.preflight import Problem, leave_out, prepare
from publisher.media.profile import MediaProfile, profile_for
from publisher.media.rejection import is_rejection_note, rejected_uids
from publisher.media.scan import sha256_file
from publisher.progress import Progress

class ViewerWriter(Protocol):
    """A viewer put on every volume beside the DICOM files (IHE PDI optional content; the
    bundled one is :class:`publisher.jobs.viewer.BundledViewer`). The media side knows only
    this: ``name`` and ``version`` are named in README.TXT."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    def write(self, content: DiscContent, root: Path) -> list[Path]:
        """Write the viewer for ``content`` under ``root``; returns the paths written, the start
        page first."""
        ...

    def extras(self, selection: Sequence[MediaInstance], media_type: MediaType) -> VolumeExtras:
        """What each volume will carry for the instances it holds (the viewer's data), estimated
        on the selection as it will be written; the plan reserves it per volume."""
        ...

_RESERVED_ROOT = {"DICOMDIR", "README.TXT", "INDEX.HTM", "AUTORUN.INF"}
_RESERVED_DIRS = {fileset.DICOM_FOLDER, pdi.PDI_FOLDER}


def exclude_rejected(instances: Sequence[MediaInstance], rejected: Collection[str] = ()) -> list[MediaInstance]:
    """``instances`` without rejected instances and without the rejection notes (IHE IOCM).

    ``rejected`` holds UIDs the caller already knows (from notes outside the selection); notes
    inside the selection are recognised from their record keys and read for their references.
    """
    notes = [i for i in instances if is_rejection_note(i.record_keys) and "ConceptNameCodeSequence" in i.record_keys]
    gone = set(rejected) | {n.sop_instance_uid for n in notes}
    gone |= rejected_uids(pydicom.dcmread(n.path, stop_before_pixels=True) for n in notes)
    return [i for i in instances if i.sop_instance_uid not in gone]


def _generated(root: Path, rel: str) -> DiscFile:
    path = root.joinpath(*rel.split("/"))
    return DiscFile(rel, path, path.stat().st_size, sha256_file(path))


def master(
    instances: Sequence[MediaInstance],
    media_type: MediaType | str,
    out_dir: Path,
    *,
    profile: str | None = None,
    viewer: ViewerWriter | None = None,
    viewer_size_estimate: int = 0,
    rejected: Collection[str] = (),
    capacity: int | None = None,
    institution: str = "",
    contact: str = "",
    created: _dt.datetime | None = None,
    file_set_id: str | None = None,
    exclude: Mapping[str, str] | None = None,
    compress: bool = False,
    check: Callable[[list[VolumePlan]], None] | None = None,
    progress: Progress | None = None,
) -> list[Volume]:
    """Master ``instances`` onto as many volumes of ``media_type`` as needed, under ``out_dir``.

    For optical media each volume becomes ``out_dir/<File-set ID>.iso`` (ISO 9660 + Joliet, plus
    UDF for DVD/BD) with its generated files staged in ``out_dir/<File-set ID>/``; for USB/folder
    output ``out_dir/<File-set ID>/`` is the finished volume. Each volume gets a JSON manifest
    ``out_dir/<File-set ID>.manifest.json``. ``capacity`` overrides the medium's capacity (bytes).

    Planning comes first and writes no volume (:mod:`publisher.media.preflight`): instances in
    ``exclude`` (SOP Instance UID -> reason) are left out and listed in README.TXT and INDEX.HTM;
    the others are converted where the profile needs it (``compress``: native images compressed
    losslessly where it allows) and :class:`~publisher.media.preflight.SelectionRefused` names
    every one that cannot go on the medium; ``check`` sees the volume plans last (e.g. that each
    label fits) and may raise to stop before anything is written.
    The plan reserves ``viewer_size_estimate`` bytes on every volume and, per volume, what
    ``viewer.extras`` estimates for the instances that volume holds.
    """
    media_type = MediaType(media_type) if isinstance(media_type, str) else media_type
    prof = profile_for(media_type, profile)
    created = created or _dt.datetime.now()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    selection, left_out = leave_out(exclude_rejected(instances, rejected), exclude or {})
    selection = prepare(selection, media_type, prof, out_dir / ".transcoded", compress=compress, capacity=capacity,
                        viewer_size_estimate=viewer_size_estimate, progress=progress)
    reserve = viewer.extras(selection, media_type) if viewer is not None and selection else None
    plans = plan_volumes(selection, media_type, capacity=capacity, viewer_size_estimate=viewer_size_estimate,
                         extras=reserve)
    if check is not None:
        check(plans)
    total = sum(i.size for i in selection)
    done = 0
    volumes = []
    fsids = [_file_set_id(file_set_id, vp.instances, vp.number, vp.count, created) for vp in plans]
    for vp, fsid in zip(plans, fsids):
        others = tuple(OtherVolume(p.number, f, p.instances) for p, f in zip(plans, fsids) if p is not vp)

        def vol_progress(d: int, _t: int, msg: str, base: int = done) -> None:
            if progress is not None:
                progress(min(base + d, total), total, msg)

        volume = _master_volume(
            vp.instances, media_type, prof, out_dir, fsid, vp.number, vp.count,
            viewer=viewer, institution=institution, contact=contact, created=created,
            capacity=capacity, left_out=left_out, progress=vol_progress if progress else None, others=others,
        )
        volumes.append(volume)
        done += sum(i.size for i in vp.instances)
    if progress is not None:
        progress(total, total, f"{len(volumes)} volume(s) done")
    return volumes


def _file_set_id(given: str | None, instances: Sequence[MediaInstance], number: int, count: int,
                 created: _dt.datetime) -> str:
    if not given:
        return fileset.file_set_id(instances, number, count, created.date())
    if count == 1:
        return given
    suffix = f"_{number}"
    return given[: 16 - len(suffix)] + suffix


def _master_volume(
    instances: Sequence[MediaInstance],
    media_type: MediaType,
    prof: MediaProfile,
    out_dir: Path,
    fsid: str,
    number: int,
    count: int,
    *,
    viewer: ViewerWriter | None,
    institution: str,
    contact: str,
    created: _dt.datetime,
    capacity: int | None,
    left_out: Sequence[Problem],
    progress: Progress | None,
    others: tuple[OtherVolume, ...] = (),
) -> Volume:
    root = out_dir / fsid
    if root.exists():
        shutil.rmtree(root)  # a restarted job rebuilds the volume from scratch
    root.mkdir(parents=True)
    ids = fileset.assign_file_ids(instances)
    dicomdir.write_dicomdir(root / "DICOMDIR", instances, ids, file_set_id=fsid, dvd_keys=prof.image_record_extra_keys)

    viewer_rel: list[str] = []
    if viewer is not None:
        content = DiscContent(number, count, fsid, prof.name, tuple(instances), ids, others=others)
        for p in viewer.write(content, root):
            rel = Path(p).absolute().relative_to(root.absolute()).as_posix()
            top = rel.split("/")[0]
            if rel in _RESERVED_ROOT or top in _RESERVED_DIRS:
                raise MediaError(f"viewer file {rel} collides with PDI/DICOM content")
            viewer_rel.append(rel)
    info = pdi.PdiInfo(
        number, count, fsid, prof.name, institution, contact, created,
        viewer_name=viewer.name if viewer else "",
        viewer_version=viewer.version if viewer else "",
        viewer_start=viewer_rel[0] if viewer_rel else "",
        left_out=tuple(p.line() for p in left_out),
    )
    pdi_rel = pdi.write_pdi(root, instances, ids, info)

    small = ["DICOMDIR"] + [r for r in pdi_rel if "/" not in r] + [r for r in pdi_rel if "/" in r] + viewer_rel
    files = [_generated(root, rel) for rel in small]
    for inst in instances:
        files.append(DiscFile(ids[inst.sop_instance_uid], inst.path, inst.size,
                              inst.sha256 or sha256_file(inst.path), inst.sop_instance_uid))

    limit = capacity if capacity is not None else media_type.capacity
    image = None
    if media_type.is_image:
        image = out_dir / f"{fsid}.iso"
        size = write_image(files, image, volume_id=fsid, udf=udf_revision(media_type), progress=progress)
    else:
        size = write_folder([f for f in files if f.dest not in small], root, progress=progress)
        size += sum(f.size for f in files if f.dest in small)
    if size > limit:
        raise MediaError(f"volume {fsid} is {size} bytes, more than the {limit} bytes of the medium")
    from publisher.media.verify import write_manifest

    manifest = out_dir / f"{fsid}.manifest.json"
    write_manifest(manifest, files, file_set_id=fsid, volume=number, volumes=count)
    return Volume(number, count, fsid, media_type, prof.name, list(instances), files, root, image, manifest, size)
