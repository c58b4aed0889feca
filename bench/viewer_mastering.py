"""Share of the viewer data in mastering a 500-image CT DVD, cold and warm viewer cache.

    .venv/bin/python bench/viewer_mastering.py [--rounds 5] [--count 500] [--size 512] [--workers N]

``count`` noisy CT slices (``publisher.demo.ct``: the phantom plus noise of sigma about 8 HU,
``size`` square, 16 bit) are mastered on a DVD with the bundled viewer through the real path
(:func:`publisher.media.master` with :class:`publisher.jobs.viewer.BundledViewer`: plan, File-set,
DICOMDIR, PDI, viewer, UDF bridge image, manifest). Each round masters three times, interleaved:

* ``cold``: the viewer cache emptied first (a first burn);
* ``warm``: the cache as the cold run left it (a re-burn, another volume set, more copies later);
* ``no viewer``: the same DVD without the viewer, for what the viewer costs in all.

"Viewer data" is the time spent in the viewer hook (its size estimate for the plan and writing
its files); its share is that over the whole mastering time of the same run. Printed per
variant: best and median of both and of the share (target: under 30 %), and the difference to
the run without viewer. :func:`rows` gives the same to ``make bench`` (``bench/run.py``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import warm  # noqa: E402
from publisher.demo.ct import noisy_volume  # noqa: E402
from publisher.demo.samples import as_file  # noqa: E402
from publisher.jobs.viewer import BundledViewer  # noqa: E402
from publisher.media import DiscContent, MediaInstance, MediaType, master  # noqa: E402
from publisher.media.plan import VolumeExtras  # noqa: E402
from publisher.media.scan import instances_from_files  # noqa: E402
from viewer_bundle import FrameCache  # noqa: E402

TARGET = 0.30


@dataclass
class TimedViewer:
    """The bundled viewer, with the seconds spent in it (estimate and writing) counted."""

    inner: BundledViewer
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def version(self) -> str:
        return self.inner.version

    def write(self, content: DiscContent, root: Path) -> list[Path]:
        t0 = time.perf_counter()
        try:
            return self.inner.write(content, root)
        finally:
            self.seconds += time.perf_counter() - t0

    def extras(self, selection: Sequence[MediaInstance], media_type: MediaType) -> VolumeExtras:
        t0 = time.perf_counter()
        try:
            return self.inner.extras(selection, media_type)
        finally:
            self.seconds += time.perf_counter() - t0


def lay_out(root: Path, count: int, size: int) -> list[Path]:
    paths = []
    for i, ds in enumerate(noisy_volume(count, size, size, key="bench-master")):
        path = root / f"I{i + 1:07d}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        as_file(ds).save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def master_once(instances: list[MediaInstance], out: Path, cache: FrameCache | None, viewer: bool,
                workers: int | None = None) -> tuple[float, float]:
    """(mastering seconds, of which in the viewer) for one DVD; the output is removed after."""
    os.sync()  # the previous run's image is not written back during this one
    hook = TimedViewer(BundledViewer(institution="Bench", cache=cache, workers=workers)) if viewer else None
    t0 = time.perf_counter()
    volumes = master(instances, MediaType.DVD, out, viewer=hook, institution="Bench")
    total = time.perf_counter() - t0
    assert len(volumes) == 1 and volumes[0].image is not None
    shutil.rmtree(out)
    return total, hook.seconds if hook else 0.0


def measure(rounds: int, count: int = 500, size: int = 512, workers: int | None = None) -> dict[str, list[tuple[float, float]]]:
    """Per variant (``cold``, ``warm``, ``none``), the (mastering s, viewer s) of each round;
    ``workers`` threads encode (None: the cores available)."""
    with tempfile.TemporaryDirectory(prefix="bench-viewer-master-") as tmp:
        work = Path(tmp)
        paths = lay_out(work / "src", count, size)
        instances = instances_from_files(paths)
        cache = FrameCache(work / "cache")
        warm(paths)
        out: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": [], "none": []}
        for _ in range(rounds):
            cache.purge()
            out["cold"].append(master_once(instances, work / "out", cache, True, workers))
            out["warm"].append(master_once(instances, work / "out", cache, True, workers))
            out["none"].append(master_once(instances, work / "out", None, False))
        return out


def _row(work: str, runs: list[tuple[float, float]], bare: list[float]) -> dict[str, Any]:
    shares = [v / t for t, v in runs]
    viewer, total = [v for _, v in runs], [t for t, _ in runs]
    extra = statistics.median(total) - statistics.median(bare)
    return {"work": work, "ours_s": min(viewer), "ours_median_s": statistics.median(viewer),
            "peer": "whole mastering, same run", "peer_s": min(total), "peer_median_s": statistics.median(total),
            "ratio": min(shares), "ratio_median": statistics.median(shares),
            "target": f"ratio < {TARGET:.2f} (viewer data under 30 % of mastering time)",
            "note": (f"ours = seconds in the viewer hook (estimate + files); the same DVD without viewer "
                     f"{min(bare):.2f} / {statistics.median(bare):.2f} s, so the viewer adds {extra:.2f} s "
                     f"({100 * extra / statistics.median(total):.0f} % of the median) counting its bytes in the image")}


def rows(rounds: int, count: int = 500, size: int = 512, workers: int | None = None) -> list[dict[str, Any]]:
    """The ``make bench`` rows: the viewer's share of mastering, cold and warm cache."""
    m = measure(rounds, count, size, workers)
    bare = [t for t, _ in m["none"]]
    label = f"mastering a {count}-image CT DVD with viewer"
    return [_row(f"{label}, cold viewer cache", m["cold"], bare),
            _row(f"{label}, warm viewer cache (re-burn)", m["warm"], bare)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--workers", type=int, default=None, help="encoding threads (default: the cores)")
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"{args.count} noisy CT {args.size}x{args.size}x16 on DVD, {args.rounds} rounds, "
          f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}, {os.cpu_count()} CPUs")
    for r in rows(args.rounds, args.count, args.size, args.workers):
        print(f"{r['work']}: viewer {r['ours_s']:.2f} / {r['ours_median_s']:.2f} s of mastering "
              f"{r['peer_s']:.2f} / {r['peer_median_s']:.2f} s (best / median); share {100 * r['ratio']:.1f} % / "
              f"{100 * r['ratio_median']:.1f} % (target < {100 * TARGET:.0f} %)\n  {r['note']}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")


if __name__ == "__main__":
    main()
