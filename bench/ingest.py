"""Receive + store (+ index) 500 CT instances: DCMTK storescp, Orthanc and us, in one run.

    .venv/bin/python bench/ingest.py [--count 500] [--size 512] [--repeat 3]

DCMTK ``storescu`` sends the same files over one association to each receiver in turn, with
TCP_NODELAY=1 for the DCMTK side (DESIGN section 4). Each receiver starts empty. Prints the
best of ``--repeat`` runs per receiver and our ratio to each peer.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._peers import DCMTK_ENV, orthanc, publisher, storescp  # noqa: E402
from publisher import samples  # noqa: E402


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


def measure(name: str, server: Callable[[Path], AbstractContextManager[tuple[int, str]]], files: list[Path], repeat: int, work: Path) -> float:
    best = float("inf")
    for i in range(repeat):
        target = work / f"{name}-{i}"
        with server(target) as (port, aec):
            best = min(best, send(port, aec, files))
        shutil.rmtree(target, ignore_errors=True)
    return best


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
        results = {
            "DCMTK storescp (files only)": measure("storescp", lambda d: storescp(d), files, args.repeat, work),
            "Orthanc (SQLite index)": measure("orthanc", lambda d: orthanc(d), files, args.repeat, work),
            "disc publisher (fsync + SQL index)": measure("publisher", lambda d: publisher(d, **env), files, args.repeat, work),
        }
    ours = results["disc publisher (fsync + SQL index)"]
    print(f"{args.count} CT instances of {args.size}x{args.size}x16 bit ({mb:.0f} MB), one association, best of {args.repeat}")
    print("| receiver | seconds | MB/s | ours / this |")
    print("| --- | --- | --- | --- |")
    for name, t in results.items():
        print(f"| {name} | {t:.2f} | {mb / t:.0f} | {ours / t:.2f} |")


if __name__ == "__main__":
    main()
