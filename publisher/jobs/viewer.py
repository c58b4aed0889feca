"""Putting the bundled viewer on each disc: media content -> viewer_bundle content.

``viewer_bundle`` takes plain data and knows nothing of the publisher; ``publisher.media``
calls a hook and knows nothing of the viewer. This module joins them, from index values
(no header re-read: what the viewer needs beyond them it reads while it encodes pixels).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import viewer_bundle as vb
from publisher import __version__
from publisher.media import DiscContent as MediaContent
from publisher.media import MediaInstance, MediaType, Volume, master
from publisher.media.model import OtherVolume, PatientKey
from publisher.media.plan import FOLDER_OVERHEAD, SECTOR, VolumeExtras, VolumePlan, file_cost
from publisher.progress import Progress


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


def _image_keys(inst: MediaInstance) -> dict[str, object]:
    """Rows, Columns, frames, bits and photometric from the index's record keys (PS3.3 F.5),
    so the estimate sizes every image from its own matrix rather than from its file size."""
    keys = inst.record_keys
    out: dict[str, object] = {"rows": _int(keys.get("Rows")), "columns": _int(keys.get("Columns")),
                              "bits_allocated": _int(keys.get("BitsAllocated")),
                              "samples_per_pixel": _int(keys.get("SamplesPerPixel"))}
    out["number_of_frames"] = _int(keys.get("NumberOfFrames")) or 1
    out["photometric_interpretation"] = str(keys.get("PhotometricInterpretation", "") or "")
    return out


def elsewhere(others: Sequence[OtherVolume]) -> list[vb.OtherDisc]:
    """The other volumes of a set as the viewer names them: each series (part) and its count."""
    discs = []
    for other in others:
        disc = vb.OtherDisc(other.volume, other.file_set_id)
        by_series: dict[str, vb.SeriesElsewhere] = {}
        for i in other.instances:
            entry = by_series.get(i.series_instance_uid)
            if entry is None:
                entry = by_series[i.series_instance_uid] = vb.SeriesElsewhere(
                    i.series_instance_uid, i.patient_name, i.patient_id, i.study_date, i.study_description,
                    i.modality, i.series_number, i.series_description)
                disc.series.append(entry)
            entry.count += 1
        discs.append(disc)
    return discs


def viewer_content(instances: Sequence[MediaInstance], file_ids: dict[str, str] | None = None,
                   *, volume: int = 1, volumes: int = 1, institution: str = "", label: str = "",
                   others: Sequence[OtherVolume] = ()) -> vb.DiscContent:
    """The viewer's view of ``instances`` (in disc order); ``file_ids`` maps SOP UID -> File ID;
    ``others`` are the other volumes of the set, named on this one."""
    content = vb.DiscContent(label=label, institution=institution, created=_dt.date.today().strftime("%Y%m%d"),
                             volume=volume, volumes=volumes, others=elsewhere(others))
    patients: dict[PatientKey, vb.Patient] = {}
    studies: dict[str, vb.Study] = {}
    series: dict[str, vb.Series] = {}
    for i in instances:
        p = patients.get(i.patient_key)
        if p is None:
            p = patients[i.patient_key] = vb.Patient(i.patient_id, i.patient_name, i.patient_birth_date, i.patient_sex,
                                                     i.issuer_of_patient_id)
            content.patients.append(p)
        st = studies.get(i.study_instance_uid)
        if st is None:
            st = studies[i.study_instance_uid] = vb.Study(
                i.study_instance_uid, i.study_date, i.study_time, i.study_description, i.accession_number,
                i.study_id, i.referring_physician_name, institution,
            )
            p.studies.append(st)
        se = series.get(i.series_instance_uid)
        if se is None:
            se = series[i.series_instance_uid] = vb.Series(i.series_instance_uid, i.modality, i.series_number, i.series_description)
            st.series.append(se)
        path = (file_ids or {}).get(i.sop_instance_uid, i.sop_instance_uid)
        se.instances.append(vb.Instance(path=path, source=i.path, sop_class_uid=i.sop_class_uid,
                                        sop_instance_uid=i.sop_instance_uid, instance_number=i.instance_number,
                                        transfer_syntax_uid=i.transfer_syntax_uid, content_id=i.sha256,
                                        **_image_keys(i)))  # type: ignore[arg-type]
    return content


def viewer_cache(data_dir: Path, max_bytes: int) -> vb.FrameCache | None:
    """The cache of encoded viewer frames of a service: ``<data_dir>/viewer-cache``, at most
    ``max_bytes`` (``[jobs] viewer_cache_bytes``; 0: no cache). Keyed by SOP Instance UID and the
    SHA-256 the index holds for the file, so a replaced file is encoded again."""
    return vb.FrameCache(data_dir / "viewer-cache", max_bytes) if max_bytes > 0 else None


def estimate(instances: Sequence[MediaInstance]) -> int:
    """Bytes the viewer writes for ``instances`` on one disc."""
    return vb.estimate_size(viewer_content(instances))


def estimate_parts(instances: Sequence[MediaInstance], cache: vb.FrameCache | None = None) -> vb.SizeEstimate:
    """The viewer's bytes for ``instances`` by part (reads a few images of each series, unless
    ``cache`` holds their measurement)."""
    return vb.estimate_parts(viewer_content(instances), cache)


def _on_medium(part: vb.Part, udf: bool) -> int:
    """Bytes ``part`` takes on the medium: each file rounded up to a whole sector, with its
    directory entries (as :func:`publisher.media.plan.file_cost`), each folder as the plan's."""
    per_file = file_cost(0, udf) + SECTOR
    return part.bytes + math.ceil(part.files * per_file) + part.dirs * FOLDER_OVERHEAD


def volume_extras(parts: vb.SizeEstimate, media_type: MediaType) -> VolumeExtras:
    """The viewer's reserve for the volume plan: code on every volume; per series part, its
    catalogue entries and thumbnail; per instance, its pixel data; and on every volume the
    lines naming the other volumes' series (all of them, plus one split part per volume)."""
    udf = media_type.uses_udf
    listed = sum(parts.elsewhere.values())
    return VolumeExtras(
        fixed=_on_medium(parts.fixed, udf) + listed,
        per_volume=parts.other_disc + max(parts.elsewhere.values(), default=0),
        series={uid: _on_medium(p, udf) for uid, p in parts.series.items()},
        instances={uid: _on_medium(p, udf) for uid, p in parts.instances.items()},
    )


def viewer_extras(selection: Sequence[MediaInstance], media_type: MediaType,
                  cache: vb.FrameCache | None = None) -> VolumeExtras:
    """:meth:`publisher.media.ViewerWriter.extras` for the bundled viewer."""
    return volume_extras(estimate_parts(selection, cache), media_type)


def master_with_viewer(
    instances: Sequence[MediaInstance],
    media: MediaType | str,
    out_dir: Path,
    *,
    rejected: Collection[str] = (),
    viewer: bool = True,
    institution: str = "",
    profile: str | None = None,
    capacity: int | None = None,
    exclude: Mapping[str, str] | None = None,
    compress: bool = False,
    check: Callable[[list[VolumePlan]], None] | None = None,
    progress: Progress | None = None,
    cache: vb.FrameCache | None = None,
) -> list[Volume]:
    """:func:`publisher.media.master` with the bundled viewer on every disc (each volume's plan
    reserving the viewer data of what it holds), as both ``publisher master`` and disc jobs
    make discs. Each disc's viewer shows that disc's series and names the other discs';
    ``exclude``, ``compress`` and ``check`` go to :func:`~publisher.media.master` as they are.
    ``cache`` keeps the encoded frames for the next disc of the same instances (a re-burn,
    another volume set): see :func:`viewer_cache`."""
    hook = BundledViewer(institution=institution, cache=cache) if viewer else None
    return master(instances, media, out_dir, profile=profile, rejected=rejected, capacity=capacity,
                  institution=institution, viewer=hook, exclude=exclude, compress=compress, check=check,
                  progress=progress)


@dataclass(frozen=True)
class BundledViewer:
    """The bundled HTML5 viewer as :func:`publisher.media.master` takes a viewer
    (:class:`publisher.media.ViewerWriter`): written on each volume's tree, its data reserved
    per volume (:func:`viewer_extras`)."""

    institution: str = ""
    language: str | None = None
    name: str = "Disc publisher HTML5 viewer"
    version: str = __version__
    #: Encoded frames kept between discs (None: every disc encodes its pixels).
    cache: vb.FrameCache | None = None
    #: Threads encoding pixels (None: the cores available; 1: in the caller's thread).
    workers: int | None = None

    def write(self, content: MediaContent, root: Path) -> list[Path]:
        vc = viewer_content(content.instances, content.file_ids, volume=content.volume, volumes=content.volumes,
                            institution=self.institution, label=content.file_set_id, others=content.others)
        result = vb.write_viewer(vc, root, language=self.language, cache=self.cache, workers=self.workers)
        # The start page first (README.TXT and INDEX.HTM point at it), then the rest.
        ordered = [result.start_page] + [f for f in result.files if f != result.start_page]
        return [root / f for f in ordered]

    def extras(self, selection: Sequence[MediaInstance], media_type: MediaType) -> VolumeExtras:
        return viewer_extras(selection, media_type, self.cache)

