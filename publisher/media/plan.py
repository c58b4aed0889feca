"""Spanning: split a selection into volumes that fit the medium ("disc k of n").

Capacity is the usable capacity of the medium (:class:`MediaType`) minus what every volume
carries besides DICOM files: file-system structures, DICOMDIR, PDI pages and the viewer. Each
file costs its size rounded up to whole 2048-byte sectors plus its directory entries (ISO 9660,
Joliet, and a UDF File Entry block on DVD/BD) and its DICOMDIR record.

Rules (issue 4): DICOMDIR order (patients, studies newest first, series, instances); keep series
whole and studies together where that costs no extra volume; a series larger than a volume is
split by instance; every instance is on exactly one volume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


def usable_capacity(media_type: MediaType, capacity: int | None = None, *, viewer_size_estimate: int = 0) -> int:
    """Bytes left for DICOM files on one volume (DESIGN.md section 4: plan with usable capacity)."""
    raw = capacity if capacity is not None else media_type.capacity
    usable = int(raw * (1 - MARGIN)) - VOLUME_OVERHEAD - sectors(viewer_size_estimate) - 4 * PAGE_OVERHEAD
    if usable <= 0:
        raise MediaError(f"capacity {raw} bytes leaves no room after overhead and viewer")
    return usable


def instance_cost(inst: MediaInstance, udf: bool) -> int:
    return sectors(inst.size) + FILE_OVERHEAD + (UDF_FILE_OVERHEAD if udf else 0)


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

    def key(i: MediaInstance) -> tuple:
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
    def __init__(self, capacity: int, udf: bool) -> None:
        self.capacity, self.udf = capacity, udf
        self.volumes: list[list[MediaInstance]] = [[]]
        self.used = 0

    def cost(self, items: Sequence[MediaInstance], folders: int) -> int:
        return sum(instance_cost(i, self.udf) for i in items) + folders * FOLDER_OVERHEAD

    def new_volume(self) -> None:
        if self.volumes[-1]:
            self.volumes.append([])
            self.used = 0

    def put(self, items: Sequence[MediaInstance], cost: int) -> None:
        self.volumes[-1].extend(items)
        self.used += cost

    def place_whole(self, items: Sequence[MediaInstance], cost: int) -> bool:
        """Put ``items`` on the current volume, or else on a new one; False if no volume holds them."""
        if self.used + cost > self.capacity:
            if cost > self.capacity:
                return False
            self.new_volume()
        self.put(items, cost)
        return True

    def series(self, items: list[MediaInstance]) -> None:
        if not self.place_whole(items, self.cost(items, 1)):
            self.split(items)

    def split(self, items: list[MediaInstance]) -> None:
        """A series larger than a volume: fill volumes instance by instance."""
        if self.used + FOLDER_OVERHEAD * 3 >= self.capacity:
            self.new_volume()
        self.used += FOLDER_OVERHEAD * 3
        for inst in items:
            cost = instance_cost(inst, self.udf)
            if cost + FOLDER_OVERHEAD * 3 > self.capacity:
                raise MediaError(f"instance {inst.sop_instance_uid} ({inst.size} bytes) does not fit on one volume")
            if self.used + cost > self.capacity:
                self.new_volume()
                self.used = FOLDER_OVERHEAD * 3
            self.put([inst], cost)

    def study(self, series: list[list[MediaInstance]], keep_together: bool) -> None:
        if keep_together:
            items = [i for s in series for i in s]
            if self.place_whole(items, self.cost(items, len(series) + 2) + PAGE_OVERHEAD):
                return
        self.used += 2 * FOLDER_OVERHEAD + PAGE_OVERHEAD
        for s in series:
            self.series(s)


def plan_volumes(
    instances: Sequence[MediaInstance],
    media_type: MediaType,
    *,
    capacity: int | None = None,
    viewer_size_estimate: int = 0,
) -> list[VolumePlan]:
    """Split ``instances`` into volumes; each volume is a complete File-set of its own."""
    if not instances:
        raise MediaError("nothing to put on media: the selection is empty")
    usable = usable_capacity(media_type, capacity, viewer_size_estimate=viewer_size_estimate)
    ordered = dicomdir_order(instances)
    studies = _groups(ordered)
    best: list[list[MediaInstance]] | None = None
    for keep_together in (True, False):
        packer = _Packer(usable, media_type.uses_udf)
        for study in studies:
            packer.study(study, keep_together)
        volumes = [v for v in packer.volumes if v]
        if best is None or len(volumes) < len(best):
            best = volumes
    assert best is not None
    n = len(best)
    return [
        VolumePlan(k, n, tuple(v), sum(instance_cost(i, media_type.uses_udf) for i in v))
        for k, v in enumerate(best, start=1)
    ]
