"""Putting the bundled viewer on each disc: media content -> viewer_bundle content.

``viewer_bundle`` takes plain data and knows nothing of the publisher; ``publisher.media``
calls a hook and knows nothing of the viewer. This module joins them, from index values
(no header re-read: what the viewer needs beyond them it reads while it encodes pixels).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

import viewer_bundle as vb
from publisher import __version__
from publisher.media import DiscContent as MediaContent
from publisher.media import MediaInstance, Viewer, Volume, master
from publisher.media.model import PatientKey, Progress
from publisher.media.plan import VolumePlan


def viewer_content(instances: Sequence[MediaInstance], file_ids: dict[str, str] | None = None,
                   *, volume: int = 1, volumes: int = 1, institution: str = "", label: str = "") -> vb.DiscContent:
    """The viewer's view of ``instances`` (in disc order); ``file_ids`` maps SOP UID -> File ID."""
    content = vb.DiscContent(label=label, institution=institution, created=_dt.date.today().strftime("%Y%m%d"),
                             volume=volume, volumes=volumes)
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
                                        transfer_syntax_uid=i.transfer_syntax_uid))
    return content


def estimate(instances: Sequence[MediaInstance]) -> int:
    """Bytes the viewer adds for ``instances`` (reserved in the volume plan)."""
    return vb.estimate_size(viewer_content(instances))


def master_with_viewer(
    instances: Sequence[MediaInstance],
    media: str,
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
) -> list[Volume]:
    """:func:`publisher.media.master` with the bundled viewer on every disc (its size reserved
    in the volume plan), as both ``publisher master`` and disc jobs make discs; ``exclude``,
    ``compress`` and ``check`` go to :func:`~publisher.media.master` as they are."""
    hook, reserve = None, 0
    if viewer:
        hook = viewer_hook(institution=institution)
        reserve = estimate([i for i in instances if i.sop_instance_uid not in rejected])
    return master(instances, media, out_dir, profile=profile, rejected=rejected, capacity=capacity,
                  institution=institution, viewer=hook, viewer_size_estimate=reserve, exclude=exclude,
                  compress=compress, check=check, progress=progress)


def viewer_hook(*, institution: str = "", language: str | None = None) -> Viewer:
    """The ``viewer`` callable :func:`publisher.media.master` runs on each volume's tree."""

    def write(content: MediaContent, root: Path) -> list[Path]:
        vc = viewer_content(content.instances, content.file_ids, volume=content.volume, volumes=content.volumes,
                            institution=institution, label=content.file_set_id)
        result = vb.write_viewer(vc, root, language=language)
        # The start page first (README.TXT and INDEX.HTM point at it), then the rest.
        ordered = [result.start_page] + [f for f in result.files if f != result.start_page]
        return [root / f for f in ordered]

    write.name = "Disc publisher HTML5 viewer"  # type: ignore[attr-defined]
    write.version = __version__  # type: ignore[attr-defined]
    return write
