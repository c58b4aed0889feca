"""Shared helpers for the benchmarks: synthetic files laid out as a File-set, timing, peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from publisher.demo import samples as S


def write_fileset(root: Path, patients: int, studies: int, series: int, per_series: int, rows: int) -> list[Path]:
    """CT files named as PS3.10 File IDs under ``root/DICOM`` (P/S/SE/I), one study per key."""
    paths = []
    pspecs = [S.PatientSpec(f"Bench^Patient{p}", f"BENCH{p:04d}", charset="ISO_IR 100") for p in range(patients)]
    for p_no, patient in enumerate(pspecs, start=1):
        for s_no in range(1, studies + 1):
            spec = S.StudySpec(patient, f"s{s_no}", f"Bench study {s_no}", f"2026{s_no:02d}01", "101500", f"A{p_no}{s_no}",
                               series=tuple(S.SeriesSpec("ct", per_series, k, f"Series {k}", rows, rows)
                                            for k in range(1, series + 1)))
            counts: dict[str, int] = {}
            for ds in S.build_study(spec):
                se = int(ds.SeriesNumber)
                counts[se] = i = counts.get(se, 0) + 1
                path = root / "DICOM" / f"P{p_no:07d}" / f"S{s_no:07d}" / f"SE{se:06d}" / f"I{i:07d}"
                path.parent.mkdir(parents=True, exist_ok=True)
                S.as_file(ds).save_as(path, enforce_file_format=True)
                paths.append(path)
    return paths


@contextmanager
def timer(label: str, out: dict[str, float]) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    out[label] = time.perf_counter() - t0


def best_of(n: int, fn: Callable[[], object]) -> float:
    """Best wall time of ``n`` runs of ``fn``."""
    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run_timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run ``cmd``; return (wall seconds, peak RSS of this child in KiB, its stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    peak = 0
    status_file = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:  # VmHWM is per process image (ru_maxrss would include the fork)
        try:
            for line in status_file.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.002)
    out = proc.stdout.read().decode() if proc.stdout else ""
    status = proc.returncode
    wall = time.perf_counter() - t0
    if status:
        raise subprocess.CalledProcessError(status, cmd)
    try:  # a child that prints its own VmHWM at exit is more exact than polling
        peak = max(peak, int(json.loads(out)["vmhwm_kib"]))
    except (ValueError, KeyError, TypeError):
        pass
    return wall, peak, out


def warm(paths: list[Path]) -> None:
    """Read every file once so both sides start with a warm page cache."""
    for p in paths:
        with open(p, "rb") as fh:
            while fh.read(1 << 20):
                pass


PYTHON = sys.executable
