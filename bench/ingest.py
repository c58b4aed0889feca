"""Receive + store (+ index) 500 CT instances: DCMTK storescp, Orthanc and us, in one run.

    .venv/bin/python bench/ingest.py [--count 500] [--size 512] [--repeat 3]

DCMTK ``storescu`` sends the same files over one association to each receiver in turn, with
TCP_NODELAY=1 for the DCMTK side (docs/architecture.md, section 4). Each receiver starts empty. ``--repeat``
rounds run each receiver once in turn (so a slow spell of a shared machine falls on all of
them); prints the best and the median per receiver and our ratios to each peer.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._peers import DCMTK_ENV, orthanc, publisher, storescp  # noqa: E402
from publisher.demo import samples  # noqa: E402


def make_files(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ds in samples.ct_volume(count, size, size):
        p = folder / f"{ds.SOPInstanceUID}.dcm"
        samples.as_file(ds).save_as(p, enforce_file_format=True)
        paths.append(p)
    return paths


def send(port: int, aec: str, files: list[Path]) -> float:
    cmd = ["storescu", "-aet", "STORESCU", "-aec", aec, "127.0.0.1", str(port), "+sd", str(files[0].parent)]
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=DCMTK_ENV)
    elapsed = time.perf_counter() - start
    if r.returncode:
        raise RuntimeError(f"storescu to {aec} failed: {r.stderr[-500:]}")
    return elapsed


def measure(name: str, server: Callable[[Path], AbstractContextManager[tuple[int, str]]], files: list[Path], round_: int, work: Path) -> float:
    target = work / f"{name}-{round_}"
    with server(target) as (port, aec):
        elapsed = send(port, aec, files)
    shutil.rmtree(target, ignore_errors=True)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--database-url", default="", help="index database for us (default SQLite in the data dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        work = Path(tmp)
        files = make_files(work / "in", args.count, args.size)
        mb = sum(f.stat().st_size for f in files) / 1e6
        env = {"PUBLISHER_DATABASE_URL": args.database_url} if args.database_url else {}
        receivers: dict[str, Callable[[Path], AbstractContextManager[tuple[int, str]]]] = {
            "DCMTK storescp (files only)": lambda d: storescp(d),
            "Orthanc (SQLite index)": lambda d: orthanc(d),
            "disc publisher (fsync + SQL index)": lambda d: publisher(d, **env),
        }
        # Rounds interleave the receivers, so a slower spell of this shared machine falls on all.
        times: dict[str, list[float]] = {name: [] for name in receivers}
        for r in range(args.repeat):
            for i, (name, server) in enumerate(receivers.items()):
                times[name].append(measure(f"r{i}", server, files, r, work))
    ours = "disc publisher (fsync + SQL index)"
    best = {name: min(t) for name, t in times.items()}
    median = {name: statistics.median(t) for name, t in times.items()}
    print(f"{args.count} CT instances of {args.size}x{args.size}x16 bit ({mb:.0f} MB), one association, "
          f"{args.repeat} interleaved rounds")
    print("| receiver | best s | MB/s | ours / this (best) | median s | ours / this (median) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in receivers:
        print(f"| {name} | {best[name]:.2f} | {mb / best[name]:.0f} | {best[ours] / best[name]:.2f} | "
              f"{median[name]:.2f} | {median[ours] / median[name]:.2f} |")


if __name__ == "__main__":
    main()
