"""Spanning with the viewer: how close each disc's viewer reserve is to what is written.

    .venv/bin/python bench/viewer_span.py [--slices 80] [--size 512] [--media cd] [--capacity-mb 40]

Two patients, each one CT study of two series (5/8 and 3/8 of ``slices``, ``size`` square,
noisy as ``publisher.demo.ct``), mastered with the viewer onto ``capacity``-byte media as
``publisher master`` does. Per disc it prints the instances, the image size against the
capacity, and the viewer bytes the plan reserved against those written (the reserve is an
upper bound: the ratio must stay >= 1; the closer to 1, the fewer discs). Then the disc count
against ceil((DICOM + viewer bytes written) / usable capacity), and what the former plan
(the whole selection's viewer reserve on every disc) would have made of the same selection.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from publisher.demo import samples as S  # noqa: E402
from publisher.jobs.viewer import estimate, master_with_viewer, viewer_extras  # noqa: E402
from publisher.media import MediaError, MediaType  # noqa: E402
from publisher.media.plan import plan_volumes, usable_capacity  # noqa: E402
from publisher.media.scan import instances_from_files  # noqa: E402
from publisher.demo.ct import noisy_study  # noqa: E402


def lay_out(root: Path, slices: int, size: int) -> list[Path]:
    paths = []
    first, second = slices * 5 // 8, slices - slices * 5 // 8
    for n, (patient, date) in enumerate([(S.LATIN1_PATIENT, "20260212"), (S.CYRILLIC_PATIENT, "20260105")], 1):
        spec = S.StudySpec(patient, f"span{n}", f"CT {n}", date, "101500", f"ACC{n}",
                           series=(S.SeriesSpec("ct", first, 1, "Axial", size, size),
                                   S.SeriesSpec("ct", second, 2, "Coronal", size, size)))
        for ds in noisy_study(spec, seed=n):
            path = root / spec.key / f"{ds.SOPInstanceUID}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            S.as_file(ds).save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


def run(slices: int, size: int, media: MediaType, capacity: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="viewer_span_"))
    try:
        instances = instances_from_files(lay_out(work / "src", slices, size))
        dicom = sum(i.size for i in instances)
        t0 = time.perf_counter()
        extras = viewer_extras(instances, media)
        t1 = time.perf_counter()
        plans = plan_volumes(instances, media, capacity=capacity, extras=extras)
        t2 = time.perf_counter()
        volumes = master_with_viewer(instances, media.value, work / "out", capacity=capacity)
        t3 = time.perf_counter()
        print(f"{len(instances)} CT {size}x{size}, DICOM {dicom / 1e6:.1f} MB on {media.value} of {capacity / 1e6:.1f} MB: "
              f"estimate {t1 - t0:.2f} s, plan {t2 - t1:.3f} s, master {t3 - t2:.1f} s")
        written = 0
        for v, p in zip(volumes, plans):
            viewer = sum(f.size for f in v.files if f.dest.startswith("VIEWER/"))
            written += viewer
            print(f"  disc {v.number} of {v.count}: {len(v.instances):4d} instances, image {v.size / 1e6:6.2f} MB "
                  f"({100 * v.size / capacity:5.1f} % of the medium); viewer reserved {p.extra / 1e6:6.2f} MB, "
                  f"written {viewer / 1e6:6.2f} MB, reserve/written {p.extra / viewer:.3f}")
        usable = usable_capacity(media, capacity)
        bound = math.ceil((dicom + written) / usable)
        print(f"  {len(volumes)} discs; ceil((DICOM + viewer written) / usable capacity) = {bound} "
              f"(acceptance: at most {bound + 1})")
        whole = estimate(instances)
        try:
            before = len(plan_volumes(instances, media, capacity=capacity, viewer_size_estimate=whole))
            print(f"  whole-selection reserve ({whole / 1e6:.1f} MB on every disc): {before} discs")
        except MediaError as exc:
            print(f"  whole-selection reserve ({whole / 1e6:.1f} MB on every disc): refused ({exc})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=80, help="CT slices per patient")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--media", default="cd", choices=[m.value for m in MediaType if m.is_image])
    ap.add_argument("--capacity-mb", type=float, default=40.0, help="capacity of the medium in MB (10^6 bytes)")
    args = ap.parse_args()
    run(args.slices, args.size, MediaType(args.media), int(args.capacity_mb * 1e6))


if __name__ == "__main__":
    main()
