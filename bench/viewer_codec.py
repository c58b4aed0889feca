"""Which deflate setting the viewer's pixel data uses: time per slice and size, per kind of CT.

    .venv/bin/python bench/viewer_codec.py [--slices 40] [--rounds 5]

Each 512 x 512 x 16 bit slice is prepared as the viewer does (:func:`viewer_bundle.codec.byte_planes`:
the series' predictor, byte planes), then deflated by every candidate (zlib level x strategy, and
the other deflate libraries installed). Three kinds of CT:

* ``phantom``: ``publisher.demo.samples.ct_volume``, piecewise constant (smooth: compresses far better
  than a patient);
* ``noisy``: the same with correlated noise of sigma about 8 HU (``publisher.demo.ct``);
* ``real``: pydicom-data's ``693_UNCR`` (a real 512 x 512 CT), shifted by one row per slice.

Prints CPU milliseconds of deflate per slice (thread CPU time, best of ``rounds`` interleaved
rounds: on a shared machine wall time measures the neighbours) and the stream size in percent of
the displayed bytes; the setting in use (``viewer_bundle.codec.deflate``) is marked.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from publisher.demo.ct import noisy_volume  # noqa: E402
from publisher.demo.samples import as_file, ct_volume  # noqa: E402
from viewer_bundle import codec  # noqa: E402
from viewer_bundle.reference import frame_array  # noqa: E402

Deflate = Callable[[bytes], bytes]


def _zlib(raw: bytes, level: int, strategy: int) -> bytes:
    z = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS, 8, strategy)
    return z.compress(raw) + z.flush()


def candidates() -> list[tuple[str, Deflate]]:
    """(name, deflate) of each setting measured; Z_FILTERED changes nothing below level 4
    (zlib's deflate_fast ignores it), Z_RLE and Z_HUFFMAN_ONLY ignore the level."""
    out: list[tuple[str, Deflate]] = []
    for lv in (1, 2, 3, 4, 6, 9):
        out.append((f"zlib level {lv}", lambda b, lv=lv: _zlib(b, lv, zlib.Z_DEFAULT_STRATEGY)))
    for name, lv, st in (("Z_RLE", 1, zlib.Z_RLE), ("Z_HUFFMAN_ONLY", 1, zlib.Z_HUFFMAN_ONLY),
                         ("level 6 Z_FILTERED", 6, zlib.Z_FILTERED)):
        out.append((f"zlib {name}", lambda b, lv=lv, st=st: _zlib(b, lv, st)))
    for module, levels in (("isal.isal_zlib", (0, 1, 2, 3)), ("zlib_ng.zlib_ng", (1, 6))):
        try:
            lib = importlib.import_module(module)
        except ImportError:
            continue
        for lv in levels:
            out.append((f"{module.split('.')[0]} level {lv}", lambda b, lib=lib, lv=lv: lib.compress(b, lv)))
    return out


def _real(slices: int) -> list[np.ndarray]:
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    path = get_testdata_file("693_UNCR.dcm")
    if path is None:
        raise SystemExit("pydicom-data's 693_UNCR.dcm is missing: pip install pydicom-data")
    arr = frame_array(dcmread(path), 0)
    return [np.roll(arr, k, axis=0) for k in range(slices)]


def kinds(slices: int) -> dict[str, list[bytes]]:
    """What is deflated for each slice of each kind of CT (predictor chosen per series)."""
    frames = {
        "phantom": [frame_array(as_file(ds), 0) for ds in ct_volume(slices, 512, 512, key="codec")],
        "noisy": [frame_array(as_file(ds), 0) for ds in noisy_volume(slices, 512, 512)],
        "real": _real(slices),
    }
    return {k: [codec.byte_planes(f, codec.choose_predictor(v[0])) for f in v] for k, v in frames.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slices", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    data = kinds(args.slices)
    cands = candidates()
    best: dict[tuple[int, str], float] = {}
    size: dict[tuple[int, str], float] = {}
    for _ in range(args.rounds):  # interleaved: a busy spell falls on every candidate
        for n, (_name, fn) in enumerate(cands):
            for kind, raws in data.items():
                t0 = time.thread_time()
                out = sum(len(fn(r)) for r in raws)
                ms = 1000 * (time.thread_time() - t0) / len(raws)
                best[n, kind] = min(best.get((n, kind), ms), ms)
                size[n, kind] = 100 * out / sum(len(r) for r in raws)
    print(f"{args.slices} slices of 512 x 512 x 16 bit per kind; CPU ms of deflate per slice (best of "
          f"{args.rounds}) / stream in % of the displayed bytes")
    print("| setting | " + " | ".join(data) + " |")
    print("| --- |" + " --- |" * len(data))
    in_use = codec.deflate(data["noisy"][0])
    for n, (name, fn) in enumerate(cands):
        mark = " (in use)" if fn(data["noisy"][0]) == in_use else ""
        print(f"| {name}{mark} | " + " | ".join(f"{best[n, k]:.1f} ms / {size[n, k]:.1f} %" for k in data) + " |")


if __name__ == "__main__":
    main()
