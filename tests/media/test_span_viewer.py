"""Issue 18: spanning with the viewer on, each disc reserving the viewer data of what it holds.

1. 160 noisy CT slices of two patients (about 84 MB) on a 40 MB medium: at least 3 discs, each
   DICOMDIR clean for dciodvfy, every instance on exactly one disc, and each disc's viewer,
   opened by file:// in Chromium from the extracted image, shows that disc's series (frames
   equal to the reference rendering) and names the other discs.
2. Over a range of capacities and studies no volume is larger than the medium (the written
   image), and no disc's viewer data is larger than what its plan reserved.
3. The disc count is at most one more than the bytes written (DICOM and viewer) divided by the
   usable capacity, rounded up.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from publisher.demo import samples as S
from publisher.jobs.viewer import master_with_viewer, viewer_extras
from publisher.media import MediaType, Volume
from publisher.media.plan import plan_volumes, usable_capacity
from publisher.demo.ct import noisy_study
from tests.support import media_builders as builders
from tests.support.media_builders import extract_volume
from tests.support.tools import dciodvfy_errors
from tests.support.viewer import open_viewer
from viewer_bundle import render_reference

pytestmark = [pytest.mark.interop]

MB = 1_000_000


def ct_study(patient: S.PatientSpec, key: str, date: str, series: Sequence[tuple[int, int]], desc: str) -> S.StudySpec:
    """A CT study: ``series`` as (slices, matrix) pairs, described ``desc <number>``."""
    return S.StudySpec(patient, key, f"CT {key}", date, "101500", f"ACC-{key}",
                       series=tuple(S.SeriesSpec("ct", n, k, f"{desc} {k}", size, size)
                                    for k, (n, size) in enumerate(series, start=1)))


def write(folder: Path, studies: Sequence[S.StudySpec], noisy: bool = True):  # type: ignore[no-untyped-def]
    paths: list[Path] = []
    for seed, spec in enumerate(studies, start=1):
        datasets = list(noisy_study(spec, seed=seed)) if noisy else S.build_study(spec)
        paths += builders.write(datasets, folder / spec.key)
    return builders.read(paths)


def viewer_bytes(v: Volume) -> int:
    return sum(f.size for f in v.files if f.dest.startswith("VIEWER/"))


# -- 1. 84 MB of CT on 40 MB media ------------------------------------------------------------

LARGE = [
    ct_study(S.LATIN1_PATIENT, "p1", "20260212", [(50, 512), (30, 512)], "Müller"),
    ct_study(S.CYRILLIC_PATIENT, "p2", "20260105", [(50, 512), (30, 512)], "Иванова"),
]


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.mktemp("span-large")
    instances = write(base / "src", LARGE)
    volumes = master_with_viewer(instances, "cd", base / "out", capacity=40 * MB)
    return instances, volumes, base


def test_84_mb_of_ct_spans_40_mb_media_with_a_viewer_on_every_disc(large, chromium) -> None:  # type: ignore[no-untyped-def]
    instances, volumes, base = large
    assert 80 * MB < sum(i.size for i in instances) < 90 * MB
    assert len(volumes) >= 3
    assert volumes[0].instances[0].study_date == "20260212"  # the newest study on the first disc
    on_disc: Counter[str] = Counter()
    for v in volumes:
        assert v.image is not None and v.image.stat().st_size <= 40 * MB
        root = extract_volume(v, base / f"disc{v.number}")
        assert dciodvfy_errors(root / "DICOMDIR") == []
        records = pydicom.dcmread(root / "DICOMDIR").DirectoryRecordSequence
        uids = [str(r.ReferencedSOPInstanceUIDInFile) for r in records if "ReferencedFileID" in r]
        assert sorted(uids) == sorted(i.sop_instance_uid for i in v.instances)
        on_disc.update(uids)
        check_viewer(chromium, root, v, volumes)
    assert set(on_disc) == {i.sop_instance_uid for i in instances} and set(on_disc.values()) == {1}


def check_viewer(chromium, root: Path, v: Volume, volumes: list[Volume]) -> None:  # type: ignore[no-untyped-def]
    """The disc's viewer lists exactly its series with their counts, shows their frames from
    this disc, and names the other discs with their series."""
    context: Any
    page: Any
    context, page = open_viewer(chromium, {"root": root})
    try:
        assert page.locator("#browser .disc").inner_text() == f"Disc {v.number} of {v.count}"
        series: dict[str, list] = {}
        for i in v.instances:
            series.setdefault(i.series_description, []).append(i)
        buttons = page.locator("#browser .patient button.series")
        assert buttons.count() == len(series)
        for k in range(buttons.count()):
            button = buttons.nth(k)
            desc = next(d for d in series if d in button.inner_text())
            here = sorted(series[desc], key=lambda i: i.instance_number or 0)
            assert f"Images: {len(here)}" in button.inner_text()
            elsewhere = sorted(w.number for w in volumes if w is not v and any(
                i.series_instance_uid == here[0].series_instance_uid for i in w.instances))
            also = button.locator(".also")
            assert (also.inner_text() if also.count() else "") == (
                f"Also on disc {', '.join(map(str, elsewhere))}" if elsewhere else "")
            key = button.get_attribute("data-key")
            button.click()
            page.wait_for_function(f"DV.shown && DV.shown.key === '{key}' && DV.shown.frame === 0")
            assert_frame(page, here[0])
            page.focus("#viewport")
            page.keyboard.press("End")
            page.wait_for_function(f"DV.shown.frame === {len(here) - 1}")
            assert_frame(page, here[-1])
        others = {int(d.get_attribute("data-volume")): d for d in page.locator("#others .other").all()}
        assert sorted(others) == [w.number for w in volumes if w is not v]
        for w in volumes:
            if w is v:
                continue
            lines = others[w.number].locator(".oseries").all_inner_texts()
            parts = Counter(i.series_description for i in w.instances)
            assert len(lines) == len(parts)
            for desc, count in parts.items():
                assert any(desc in line and f"Images: {count}" in line for line in lines), (desc, lines)
        assert not page.errors
    finally:
        context.close()


#: The shown frame's red channel as base64 (grey images: R = G = B), not a million-number list.
_RED = """() => { const s = DV.debug.snapshot(), d = s.data; let b = '';
  for (let i = 0; i < d.length; i += 4) b += String.fromCharCode(d[i]);
  return {w: s.w, h: s.h, state: s.state, red: btoa(b)}; }"""


def assert_frame(page, inst) -> None:  # type: ignore[no-untyped-def]
    """The shown frame is ``inst`` (by Instance Number) and equals its reference rendering."""
    snap = page.evaluate(_RED)
    assert snap["state"]["n"] == inst.instance_number
    got = np.frombuffer(base64.b64decode(snap["red"]), np.uint8).reshape(snap["h"], snap["w"])
    ref = render_reference(pydicom.dcmread(inst.path), 0, snap["state"]["wc"], snap["state"]["ww"])
    assert np.array_equal(got, ref.astype(np.uint8))


# -- 2 and 3. capacities and study sizes -----------------------------------------------------

CASES = {
    # one series of noisy CT split over many small discs
    "ct256x40-cd-4MB": ("cd", 4 * MB, lambda: [ct_study(S.ASCII_PATIENT, "a", "20260301", [(40, 256)], "Axial")], True),
    # two patients, noisy and smooth series, whole series and studies packed
    "two-patients-cd-6MB": ("cd", 6 * MB, lambda: [
        ct_study(S.ASCII_PATIENT, "b1", "20260302", [(30, 256), (6, 256)], "Thorax"),
        ct_study(S.CJK_PATIENT, "b2", "20260110", [(20, 256), (12, 128)], "Kopf")], True),
    # smooth phantom CT (compresses well) on a DVD (UDF bridge)
    "smooth-dvd-4MB": ("dvd", 4 * MB, lambda: [
        ct_study(S.LATIN1_PATIENT, "c", "20260303", [(25, 256), (25, 256)], "Glatt")], False),
    # the demo studies (SR, PDF, CR MONOCHROME1, US RGB cine, MR) beside noisy CT
    "mixed-dvd-5MB": ("dvd", 5 * MB, lambda: [*S.demo_studies(ct_slices=12),
                                              ct_study(S.ASCII_PATIENT, "d", "20260304", [(16, 256)], "Noise")], True),
    # 512 matrix on a larger medium: the file-system reserve is small beside the data
    "ct512x40-dvd-20MB": ("dvd", 20 * MB, lambda: [ct_study(S.ASCII_PATIENT, "f", "20260306", [(40, 512)], "Wide")], True),
    # 512 matrix: two slices and their viewer data per disc
    "ct512x12-cd-4MB": ("cd", 4 * MB, lambda: [ct_study(S.ASCII_PATIENT, "e", "20260305", [(12, 512)], "Big")], True),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    media, capacity, studies, noisy = CASES[request.param]
    base = tmp_path_factory.mktemp("span-case")
    instances = write(base / "src", studies(), noisy)
    volumes = master_with_viewer(instances, media, base / "out", capacity=capacity)
    return MediaType(media), capacity, instances, volumes


def test_no_volume_is_larger_than_the_medium(case) -> None:  # type: ignore[no-untyped-def]
    media, capacity, instances, volumes = case
    assert len(volumes) >= 2
    plans = plan_volumes(instances, media, capacity=capacity, extras=viewer_extras(instances, media))
    assert [[i.sop_instance_uid for i in p.instances] for p in plans] == [
        [i.sop_instance_uid for i in v.instances] for v in volumes]  # the plan the volumes were made by
    for v, p in zip(volumes, plans):
        assert v.image is not None
        assert v.image.stat().st_size == v.size <= capacity
        assert 0 < viewer_bytes(v) <= p.extra  # the disc's viewer data within its reserve


def test_disc_count_is_near_the_bytes_written(case) -> None:  # type: ignore[no-untyped-def]
    media, capacity, instances, volumes = case
    written = sum(i.size for i in instances) + sum(viewer_bytes(v) for v in volumes)
    bound = math.ceil(written / usable_capacity(media, capacity))
    assert len(volumes) <= bound + 1, (len(volumes), bound)
