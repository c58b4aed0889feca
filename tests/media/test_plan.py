"""Acceptance 4: spanning over several volumes of a (small, configured) medium."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pydicom
import pytest

from publisher.demo import samples as S
from publisher.media import MediaError, master, verify
from publisher.media.plan import dicomdir_order, instance_cost, plan_volumes, usable_capacity
from publisher.media.model import MediaType
from tests.support import media_builders as builders
from tests.support.tools import dciodvfy_errors

#: 4 studies x 3 series x 6 CT slices of 128x128 (about 33 kB each): 72 files, about 2.4 MB
STUDIES = [
    S.StudySpec(p, f"span{n}", f"Span {n}", f"2026010{n}", "101500", f"ACC{n}",
                series=tuple(S.SeriesSpec("ct", 6, k, f"Series {k}", 128, 128) for k in (1, 2, 3)))
    for n, p in enumerate([S.ASCII_PATIENT, S.LATIN1_PATIENT, S.CJK_PATIENT, S.CYRILLIC_PATIENT], start=1)
]


@pytest.fixture(scope="module")
def selection(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("span")
    paths = [p for spec in STUDIES for p in builders.write(S.build_study(spec), folder / spec.key)]
    return builders.read(paths)


def _capacity_for(selection, ratio: float) -> int:  # type: ignore[no-untyped-def]
    """A medium capacity such that the selection is ``ratio`` times its usable capacity."""
    need = sum(instance_cost(i, False) for i in selection)
    probe = 10 * 1024 * 1024
    overhead = probe - usable_capacity(MediaType.CD, probe)
    return int(need / ratio) + overhead


def test_two_and_a_half_capacities_span_three_valid_volumes(selection, tmp_path: Path) -> None:
    capacity = _capacity_for(selection, 2.5)
    volumes = master(selection, "cd", tmp_path, capacity=capacity)
    assert len(volumes) == 3
    assert [(v.number, v.count) for v in volumes] == [(1, 3), (2, 3), (3, 3)]
    seen = Counter(i.sop_instance_uid for v in volumes for i in v.instances)
    assert set(seen) == {i.sop_instance_uid for i in selection} and set(seen.values()) == {1}
    series_volumes: dict[str, set[int]] = {}
    for v in volumes:
        assert v.image.stat().st_size <= capacity
        assert dciodvfy_errors(v.root / "DICOMDIR") == []
        records = pydicom.dcmread(v.root / "DICOMDIR").DirectoryRecordSequence
        assert {r.ReferencedSOPInstanceUIDInFile for r in records if "ReferencedFileID" in r} == {
            i.sop_instance_uid for i in v.instances}
        assert verify(v.image, v.manifest).ok
        assert f"disc {v.number} of 3" in (v.root / "README.TXT").read_text()
        for i in v.instances:
            series_volumes.setdefault(i.series_instance_uid, set()).add(v.number)
    assert all(len(n) == 1 for n in series_volumes.values())  # every series fits, none is split
    assert len({v.file_set_id for v in volumes}) == 3


def test_newest_study_first_and_dicomdir_order(selection) -> None:
    ordered = dicomdir_order(selection)
    dates = [i.study_date for i in ordered]
    assert dates == sorted(dates, reverse=True)
    plans = plan_volumes(selection, MediaType.CD, capacity=_capacity_for(selection, 2.5))
    assert plans[0].instances[0].study_date == max(dates)


def test_series_larger_than_a_volume_is_split_by_instance(selection) -> None:
    one_series = [i for i in selection if i.series_number == 1 and i.study_date == "20260101"]
    # (every volume of the split series also holds the patient and study folders and pages)
    capacity = _capacity_for(one_series, 2.0)
    plans = plan_volumes(one_series, MediaType.CD, capacity=capacity)
    assert len(plans) >= 3
    assert [i.sop_instance_uid for p in plans for i in p.instances] == [
        i.sop_instance_uid for i in dicomdir_order(one_series)]


def test_instance_larger_than_the_medium_is_refused(selection) -> None:
    from dataclasses import replace

    huge = replace(selection[0], size=MediaType.CD.capacity)
    with pytest.raises(MediaError, match="does not fit"):
        plan_volumes([huge, *selection[1:]], MediaType.CD)


def test_studies_stay_together_when_that_costs_no_extra_volume(selection) -> None:
    capacity = _capacity_for(selection, 1.6)  # two volumes either way: whole studies fit 2 per disc
    plans = plan_volumes(selection, MediaType.CD, capacity=capacity)
    assert len(plans) == 2
    for study in {i.study_instance_uid for i in selection}:
        assert len({p.number for p in plans for i in p.instances if i.study_instance_uid == study}) == 1


def test_viewer_size_is_reserved(selection) -> None:
    capacity = _capacity_for(selection, 0.9)
    assert len(plan_volumes(selection, MediaType.CD, capacity=capacity)) == 1
    assert len(plan_volumes(selection, MediaType.CD, capacity=capacity, viewer_size_estimate=capacity // 3)) >= 2


def test_a_large_ct_study_with_its_viewer_spans_cds(selection) -> None:
    """1.5 GB of CT whose viewer data is 60 % of it (more than a CD alone) still spans CDs:
    each volume reserves the viewer data of its own instances only (issue 18)."""
    from dataclasses import replace

    from publisher.media.plan import VolumeExtras, file_cost

    template = selection[0]
    study = [replace(template, sop_instance_uid=f"1.2.826.0.1.3680043.2.1143.{n}", instance_number=n,
                     series_instance_uid=f"1.2.826.0.1.3680043.2.1144.{n // 1000}", series_number=n // 1000,
                     size=526_000) for n in range(3000)]
    per_instance = 316_000
    extras = VolumeExtras(fixed=150_000, per_volume=300, series={s.series_instance_uid: 20_000 for s in study},
                          instances={i.sop_instance_uid: per_instance for i in study})
    assert sum(extras.instances.values()) > MediaType.CD.capacity
    plans = plan_volumes(study, MediaType.CD, extras=extras)
    usable = usable_capacity(MediaType.CD)
    need = sum(file_cost(i.size, False) + per_instance for i in study)
    assert len(plans) <= -(-need // usable) + 1
    assert [i.sop_instance_uid for p in plans for i in p.instances] == [i.sop_instance_uid for i in dicomdir_order(study)]
    for p in plans:
        assert p.cost + p.extra <= usable
        assert p.extra >= 150_000 + sum(extras.instances[i.sop_instance_uid] for i in p.instances)


def test_series_are_split_to_fill_volumes_when_keeping_them_whole_costs_a_volume(selection) -> None:
    """Three series of 0.6 volume each: whole, they take three volumes; filled, two."""
    from dataclasses import replace

    template = selection[0]
    study = [replace(template, sop_instance_uid=f"1.2.826.0.1.3680043.2.1145.{n}", instance_number=n,
                     series_instance_uid=f"1.2.826.0.1.3680043.2.1146.{n // 60}", series_number=n // 60,
                     size=100_000) for n in range(180)]
    usable = 60 * instance_cost(study[0], False) * 100 // 60  # a series is 0.6 of a volume
    probe = 10 * 1024 * 1024
    capacity = usable + probe - usable_capacity(MediaType.CD, probe)
    plans = plan_volumes(study, MediaType.CD, capacity=capacity)
    assert len(plans) == 2
    assert sorted(i.sop_instance_uid for p in plans for i in p.instances) == sorted(i.sop_instance_uid for i in study)
