"""Benchmark: "compress to fit" for a ~2 GB CT study: discs needed and time, with and without.

    .venv/bin/python bench/compress.py [--slices 4000] [--media dvd] [--profile STD-GEN-DVD-J2K]
                                       [--capacity 700M] [--sample 200]

The slices carry real CT pixels (pydicom-data's 693_UNCR, 512 x 512, 14 bit, shifted per slice)
under synthetic headers, so the compression ratio is that of a real CT. Both runs master the
same selection with :func:`publisher.media.master` (no viewer) and print volumes, bytes and
seconds. Then, on every ``len/sample``-th file, our lossless encoder (GDCM, checked by decoding
again) and GDCM's own ``gdcmconv --j2k`` run interleaved file by file, and the ratio is printed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from publisher.demo import samples as S  # noqa: E402
from publisher.media import master  # noqa: E402
from publisher.media.model import MediaType  # noqa: E402
from publisher.media.plan import plan_volumes  # noqa: E402
from publisher.media.profile import PROFILES  # noqa: E402
from publisher.media.scan import instances_from_files  # noqa: E402
from publisher.media.transcode import conversion, convert  # noqa: E402


def _real_ct() -> np.ndarray | None:
    try:
        import pydicom
        from pydicom.data import get_testdata_file

        path = get_testdata_file("693_UNCR.dcm")
        return None if path is None else pydicom.dcmread(path).pixel_array.astype(np.int16)
    except Exception:  # noqa: BLE001 - pydicom-data not installed: the phantom is used
        return None


def write_study(folder: Path, slices: int) -> list[Path]:
    real = _real_ct()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, ds in enumerate(S.ct_volume(slices, key="compress-bench")):
        if real is not None:
            ds.PixelData = np.roll(real, (i % 64) - 32, axis=0).tobytes()
        path = folder / f"CT{i:05d}.dcm"
        S.as_file(ds).save_as(path, enforce_file_format=True)
        paths.append(path)
    print(f"pixels: {'real CT (pydicom-data 693_UNCR)' if real is not None else 'synthetic phantom'}")
    return paths


def _size(text: str) -> int:
    units = {"K": 10**3, "M": 10**6, "G": 10**9}
    return int(float(text[:-1]) * units[text[-1].upper()]) if text[-1].upper() in units else int(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slices", type=int, default=4000)
    ap.add_argument("--media", default="dvd")
    ap.add_argument("--profile", default="STD-GEN-DVD-J2K")
    ap.add_argument("--capacity", type=_size, default=None, help="override the medium's capacity, e.g. 700M")
    ap.add_argument("--sample", type=int, default=200, help="files for the side-by-side encoder comparison")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-compress-") as tmp_name:
        tmp = Path(tmp_name)
        paths = write_study(tmp / "in", args.slices)
        total = sum(p.stat().st_size for p in paths)
        print(f"study: {len(paths)} slices, {total / 1e9:.2f} GB; medium {args.media} {args.profile}"
              + (f", capacity {args.capacity / 1e6:.0f} MB" if args.capacity else ""))
        planned: dict[bool, list] = {}
        for compress in (False, True):
            instances = instances_from_files(paths)
            t0 = time.perf_counter()
            volumes = master(instances, args.media, tmp / f"out{int(compress)}", profile=args.profile,
                             capacity=args.capacity, compress=compress)
            seconds = time.perf_counter() - t0
            planned[compress] = [i for v in volumes for i in v.instances]
            on_disc = sum(i.size for i in planned[compress])
            print(f"compress={compress!s:5}: {len(volumes)} volume(s), DICOM files {on_disc / 1e9:.3f} GB "
                  f"({on_disc / total:.1%} of stored), mastering {seconds:.1f} s")
            shutil.rmtree(tmp / f"out{int(compress)}")
        for label, cap in (("DVD 4.7 GB", None), ("1 GB", 10**9), ("700 MB", 700 * 10**6)):
            counts = [len(plan_volumes(planned[c], MediaType(args.media), capacity=cap)) for c in (False, True)]
            print(f"volumes of {label}: {counts[0]} without, {counts[1]} with lossless compression")
        _side_by_side(paths, tmp, args.profile, args.sample)
    return 0


def _side_by_side(paths: list[Path], tmp: Path, profile: str, sample: int) -> None:
    if shutil.which("gdcmconv") is None:
        print("gdcmconv not installed: no side-by-side comparison")
        return
    prof = PROFILES[profile]
    step = max(1, len(paths) // sample)
    picked = paths[::step][:sample]
    ours = peer = 0.0
    ours_bytes = peer_bytes = 0
    flag = "--j2k" if "J2K" in profile else "--jpeg"
    for n, path in enumerate(picked):
        (inst,) = instances_from_files([path])
        t0 = time.perf_counter()
        done = convert(inst, conversion(inst, prof, compress=True), tmp / "ours" / f"{n}.dcm")
        ours += time.perf_counter() - t0
        ours_bytes += done.size
        out = tmp / "peer" / f"{n}.dcm"
        out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        subprocess.run(["gdcmconv", flag, str(path), str(out)], check=True, capture_output=True)
        peer += time.perf_counter() - t0
        peer_bytes += out.stat().st_size
    print(f"encoder, {len(picked)} files interleaved: ours {ours / len(picked) * 1000:.1f} ms/file "
          f"({ours_bytes / 1e6:.1f} MB, decoded again and compared), gdcmconv {flag} "
          f"{peer / len(picked) * 1000:.1f} ms/file ({peer_bytes / 1e6:.1f} MB, a process per file); "
          f"ratio ours/peer {ours / peer:.2f}")


if __name__ == "__main__":
    sys.exit(main())
