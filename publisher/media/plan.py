"""Spanning: split a selection into volumes that fit the medium ("disc k of n").

Capacity is the usable capacity of the medium (:class:`MediaType`) minus what every volume
carries besides DICOM files: file-system structures, DICOMDIR, PDI pages. Each file costs its
size rounded up to whole 2048-byte sectors plus its directory entries (ISO 9660, Joliet, and a
UDF File Entry block on DVD/BD) and its DICOMDIR record.

What a volume carries for what it holds (the viewer's data: :class:`VolumeExtras`) is packed
with it: each series costs its DICOM files plus its extras, so a volume reserves the viewer
data of its own series only, plus the viewer's fixed files.

Rules (issue 4): DICOMDIR order (patients, studies newest first, series, instances); keep series
whole and studies together where that costs no extra volume; a series larger than a volume is
split by instance (its extras with it); every instance is on exactly one volume.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from publisher.media.model import MediaError, MediaInstance, MediaType, PatientKey

SECTOR = 2048
#: Fixed per volume: volume descriptors, path tables, root directories, UDF descriptors, margin.
VOLUME_OVERHEAD = 2 * 1024 * 1024
#: Per file: ISO 9660 + Joliet directory records (~128 bytes), DICOMDIR record (~512 bytes).
FILE_OVERHEAD = 640
#: Per file on UDF: a File Entry block, its copy in the Metadata Mirror on BD (UDF 2.60 2.2.13;
#: counted on DVD too, which has none) and a File Identifier Descriptor.
UDF_FILE_OVERHEAD = 2 * SECTOR + 64
#: Per directory (patient, study, series folders, and their PDI pages): a sector per tree.
FOLDER_OVERHEAD = 4 * SECTOR
#: PDI pages per patient and per study (XHTML), generous.
PAGE_OVERHEAD = 16 * 1024
#: Relative margin for what the estimates miss.
MARGIN = 0.002


def sectors(size: int) -> int:
    return -(-size // SECTOR) * SECTOR


@dataclass(frozen=True)
class VolumePlan:
    number: int
    count: int
    instances: tuple[MediaInstance, ...]
    cost: int  #: estimated bytes on the medium for the DICOM part
    extra: int = 0  #: bytes reserved on the medium for its :class:`VolumeExtras` (e.g. a viewer)


@dataclass(frozen=True)
class VolumeExtras:
    """What a volume carries besides DICOM files, for what it holds (e.g. a viewer's data).

    Upper bounds in bytes on the medium (sector rounding and directory entries included):
    ``fixed`` on every volume; ``per_volume`` on every volume for each volume of the set (a
    list naming the other volumes); ``series[uid]`` on every volume holding all or part of
    that series; ``instances[uid]`` for the volume holding that SOP Instance.
    """

    fixed: int = 0
    per_volume: int = 0
    series: Mapping[str, int] = field(default_factory=dict)
    instances: Mapping[str, int] = field(default_factory=dict)


def file_cost(size: int, udf: bool) -> int:
    """Bytes a file of ``size`` bytes takes on a volume: sectors and directory entries."""
    return sectors(size) + FILE_OVERHEAD + (UDF_FILE_OVERHEAD if udf else 0)


def usable_capacity(media_type: MediaType, capacity: int | None = None, *, viewer_size_estimate: int = 0) -> int:
    """Bytes left for DICOM files on one volume (and for what :class:`VolumeExtras` adds per
    series and instance): the capacity less margin, file-system overhead and fixed reserves."""
    raw = capacity if capacity is not None else media_type.capacity
    usable = int(raw * (1 - MARGIN)) - VOLUME_OVERHEAD - sectors(viewer_size_estimate) - 4 * PAGE_OVERHEAD
    if usable <= 0:
        raise MediaError(f"capacity {raw} bytes leaves no room after overhead and viewer")
    return usable


def instance_cost(inst: MediaInstance, udf: bool) -> int:
    return file_cost(inst.size, udf)


def dicomdir_order(instances: Sequence[MediaInstance]) -> list[MediaInstance]:
    """Patients (newest study first), their studies newest first, series and instances by number."""
    newest_study: dict[str, str] = {}
    newest_patient: dict[PatientKey, str] = {}
    for i in instances:
        when = (i.study_date or "") + (i.study_time or "")
        if when > newest_study.get(i.study_instance_uid, ""):
            newest_study[i.study_instance_uid] = when
        if when > newest_patient.get(i.patient_key, ""):
            newest_patient[i.patient_key] = when

    def key(i: MediaInstance) -> tuple[object, ...]:
        return (
            _desc(newest_patient.get(i.patient_key, "")), i.patient_key,
            _desc(newest_study.get(i.study_instance_uid, "")), i.study_instance_uid,
            i.series_number if i.series_number is not None else 1 << 31, i.series_instance_uid,
            i.instance_number if i.instance_number is not None else 1 << 31, i.sop_instance_uid,
        )

    return sorted(instances, key=key)


def _desc(text: str) -> str:
    """A key that sorts ``text`` (digits) descending."""
    return "".join(chr(0x7F - ord(c)) for c in text.ljust(20, "0"))


def _groups(instances: Sequence[MediaInstance]) -> list[list[list[MediaInstance]]]:
    """Studies -> series -> instances, keeping the given order."""
    studies: dict[str, dict[str, list[MediaInstance]]] = {}
    for i in instances:
        studies.setdefault(i.study_instance_uid, {}).setdefault(i.series_instance_uid, []).append(i)
    return [list(series.values()) for series in studies.values()]


class _Packer:
    """First fit in DICOMDIR order. ``context`` is what the study being placed series by series
    costs on every volume it reaches (its folders and pages, as on the volume it started on)."""

    def __init__(self, capacity: int, udf: bool, extras: VolumeExtras) -> None:
        self.capacity, self.udf, self.extras = capacity, udf, extras
        self.volumes: list[list[MediaInstance]] = [[]]
        self.used = 0
        self.context = 0

    def item_cost(self, inst: MediaInstance) -> int:
        return instance_cost(inst, self.udf) + self.extras.instances.get(inst.sop_instance_uid, 0)

    def part_cost(self, series_uid: str, folders: int = 1) -> int:
        """A series (or part of one) on a volume: its folder (and ``folders - 1`` above), extras."""
        return folders * FOLDER_OVERHEAD + self.extras.series.get(series_uid, 0)

    def cost(self, items: Sequence[MediaInstance], folders: int = 0) -> int:
        """``items`` of whole series on one volume, and ``folders`` more (patient, study)."""
        series = {i.series_instance_uid for i in items}
        return sum(self.item_cost(i) for i in items) + sum(self.part_cost(s) for s in series) + folders * FOLDER_OVERHEAD

    def new_volume(self) -> None:
        if self.volumes[-1]:
            self.volumes.append([])
            self.used = self.context

    def put(self, items: Sequence[MediaInstance], cost: int) -> None:
        self.volumes[-1].extend(items)
        self.used += cost

    def place_whole(self, items: Sequence[MediaInstance], cost: int) -> bool:
        """Put ``items`` on the current volume, or else on a new one; False if no volume holds them."""
        if self.used + cost > self.capacity:
            if self.context + cost > self.capacity:
                return False
            self.new_volume()
        self.put(items, cost)
        return True

    def series(self, items: list[MediaInstance], keep_whole: bool = True) -> None:
        """Place a series whole (on a new volume if need be), or with ``keep_whole`` False
        split it to fill the current volume when it does not fit there."""
        cost = self.cost(items)
        if not keep_whole and self.used + cost > self.capacity:
            self.split(items)
        elif not self.place_whole(items, cost):
            self.split(items)

    def split(self, items: list[MediaInstance]) -> None:
        """A series larger than a volume: fill volumes instance by instance (each part of the
        series carries the series' extras, e.g. its viewer catalogue entry)."""
        part = self.part_cost(items[0].series_instance_uid)
        if self.used + part >= self.capacity:
            self.new_volume()
        self.used += part
        for inst in items:
            cost = self.item_cost(inst)
            if self.context + part + cost > self.capacity:
                raise MediaError(f"instance {inst.sop_instance_uid} ({inst.size} bytes) does not fit on one volume")
            if self.used + cost > self.capacity:
                self.new_volume()
                self.used += part
            self.put([inst], cost)

    def study(self, series: list[list[MediaInstance]], keep_together: bool, keep_whole: bool = True) -> None:
        if keep_together:
            items = [i for s in series for i in s]
            if self.place_whole(items, self.cost(items, 2) + PAGE_OVERHEAD):
                return
        self.context = 2 * FOLDER_OVERHEAD + PAGE_OVERHEAD
        self.used += self.context
        for s in series:
            self.series(s, keep_whole)
        self.context = 0


def _pack(studies: list[list[list[MediaInstance]]], usable: int, udf: bool, extras: VolumeExtras) -> list[list[MediaInstance]]:
    """The fewest volumes of: studies kept on one volume where they fit, else series kept
    whole, else series split to fill each volume (the first of these on a tie)."""
    best: list[list[MediaInstance]] | None = None
    for keep_together, keep_whole in ((True, True), (False, True), (False, False)):
        packer = _Packer(usable, udf, extras)
        for study in studies:
            packer.study(study, keep_together, keep_whole)
        volumes = [v for v in packer.volumes if v]
        if best is None or len(volumes) < len(best):
            best = volumes
    assert best is not None
    return best


def plan_volumes(
    instances: Sequence[MediaInstance],
    media_type: MediaType,
    *,
    capacity: int | None = None,
    viewer_size_estimate: int = 0,
    extras: VolumeExtras | None = None,
) -> list[VolumePlan]:
    """Split ``instances`` into volumes; each volume is a complete File-set of its own.

    ``viewer_size_estimate`` is reserved on every volume; ``extras`` are reserved per volume
    for what it holds. As what names the other volumes grows with their number, the plan is
    repeated with the count it found until the count no longer grows.
    """
    if not instances:
        raise MediaError("nothing to put on media: the selection is empty")
    extras = extras or VolumeExtras()
    udf = media_type.uses_udf
    base = usable_capacity(media_type, capacity, viewer_size_estimate=viewer_size_estimate)
    studies = _groups(dicomdir_order(instances))
    count = 1
    while True:
        reserve = sectors(extras.fixed) + count * extras.per_volume
        if reserve >= base:
            raw = capacity if capacity is not None else media_type.capacity
            raise MediaError(f"capacity {raw} bytes leaves no room after overhead and viewer")
        best = _pack(studies, base - reserve, udf, extras)
        if len(best) <= count:
            break
        count = len(best)
    n = len(best)
    return [
        VolumePlan(k, n, tuple(v), sum(instance_cost(i, udf) for i in v), reserve + _extra(v, extras))
        for k, v in enumerate(best, start=1)
    ]


def _extra(volume: Sequence[MediaInstance], extras: VolumeExtras) -> int:
    series = {i.series_instance_uid for i in volume}
    return sum(extras.series.get(s, 0) for s in series) + sum(extras.instances.get(i.sop_instance_uid, 0) for i in volume)
