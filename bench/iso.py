"""Benchmark: our ISO 9660 + Joliet and UDF bridge images against xorriso and genisoimage, in one run.

    .venv/bin/python bench/iso.py [--rounds 5] [--small 4000] [--big-mb 2000] [--skip-big]

Rows (issue 19 targets in brackets):

* 4,000 small CT files (64 x 64), ISO 9660 + Joliet: ours vs ``xorriso -as mkisofs -J`` [no slower];
* the same as a UDF bridge: ours (UDF 2.60, as on BD) vs ``genisoimage -J -udf`` (UDF 1.02);
* ~2 GB of 512 x 512 CT files, DICOMDIR + UDF bridge: ours (``write_dicomdir`` from index data,
  then the UDF 2.60 image) vs ``genisoimage -J -udf`` on the same tree with the DICOMDIR already
  there [no slower]; and our DVD form (UDF 1.02) beside it.

Rounds are interleaved (ours, peer, ours, peer, ...) so a slow spell of the shared machine falls
on both; each side runs as a child process on a warm page cache, its image is deleted between
runs. "ours" is the time inside our process from the file list to the finished image (what the
service pays: it does not start a process per disc); "wall" adds interpreter start and imports.
The peer's time is its process wall time. Printed: best and median of each, the ratios ours /
peer of both, and the peak RSS of each child.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import PYTHON, run_timed, warm, write_fileset  # noqa: E402

_OURS = """
import json, os, pickle, sys, time
from pathlib import Path
from publisher.media.dicomdir import write_dicomdir
from publisher.media.iso import write_image
from publisher.media.model import DiscFile
root, out, udf, setup = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
state = pickle.loads(Path(setup).read_bytes()) if setup != "-" else None
t0 = time.perf_counter()
files = []
if state is not None:  # DICOMDIR from the index's data (MediaInstance), as master() does
    instances, ids = state
    write_dicomdir(root / "DICOMDIR", instances, ids, file_set_id="BENCH")
    files.append(DiscFile("DICOMDIR", root / "DICOMDIR", (root / "DICOMDIR").stat().st_size))
    files += [DiscFile(ids[i.sop_instance_uid], i.path, i.size) for i in instances]
else:  # list the tree as the peers do (readdir + stat); the service takes the list from its index
    def walk(folder, rel):
        for e in sorted(os.scandir(folder), key=lambda e: e.name):
            if e.is_dir():
                walk(e.path, rel + e.name + "/")
            else:
                files.append(DiscFile(rel + e.name, e.path, e.stat().st_size))
    walk(root, "")
write_image(files, out, volume_id="BENCH", udf=None if udf == "none" else udf)
seconds = time.perf_counter() - t0
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "vmhwm_kib": hwm}))
"""

ROOT = str(Path(__file__).resolve().parents[1])


def _once(cmd: list[str], out: Path) -> tuple[float, float, int]:
    """(our in-process seconds or the peer's wall, wall, peak RSS KiB) of one run."""
    out.unlink(missing_ok=True)
    os.sync()  # the previous run's dirty pages are not this run's cost
    wall, peak, stdout = run_timed(cmd, env={"PYTHONPATH": ROOT})
    seconds = json.loads(stdout)["seconds"] if stdout.strip().startswith("{") else wall
    out.unlink(missing_ok=True)
    return seconds, wall, peak


def clone_fileset(template: list[Path], root: Path, count: int) -> list[Path]:
    """``count`` CT files: the template series again and again as new patients, studies and
    series (new UIDs), much faster than rendering every slice."""
    from pydicom import dcmread
    from pydicom.uid import generate_uid

    paths: list[Path] = []
    for k in range(-(-count // len(template))):
        study, series = generate_uid(), generate_uid()
        for i, src in enumerate(template[: count - len(paths)], start=1):
            ds = dcmread(src)
            ds.PatientID, ds.PatientName = f"BIG{k:04d}", f"Bench^Big{k}"
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            path = root / "DICOM" / f"P{k + 1:07d}" / "S0000001" / "SE000001" / f"I{i:07d}"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
            paths.append(path)
    return paths


def _stats(xs: list[float]) -> tuple[float, float]:
    return min(xs), statistics.median(xs)


def compare(label: str, ours: list[str], peer: list[str], peer_name: str, out: Path, rounds: int) -> dict[str, object]:
    o: list[tuple[float, float, int]] = []
    p: list[tuple[float, float, int]] = []
    for _ in range(rounds):
        o.append(_once(ours, out))
        p.append(_once(peer, out))
    ob, om = _stats([x[0] for x in o])
    wb, wm = _stats([x[1] for x in o])
    pb, pm = _stats([x[0] for x in p])
    return {"label": label, "peer": peer_name, "ours": (ob, om), "wall": (wb, wm), "peer_s": (pb, pm),
            "ratio": (ob / pb, om / pm), "ratio_wall": (wb / pb, wm / pm),
            "rss": max(x[2] for x in o), "peer_rss": max(x[2] for x in p)}


def row(r: dict[str, object]) -> str:
    f = lambda t: f"{t[0]:.2f} / {t[1]:.2f}"  # noqa: E731
    g = lambda t: f"{t[0]:.2f}; {t[1]:.2f}"  # noqa: E731
    return (f"| {r['label']} | {f(r['ours'])} | {f(r['wall'])} | {r['peer']}: {f(r['peer_s'])} | "
            f"**{g(r['ratio'])}** | {g(r['ratio_wall'])} | {int(r['rss']) // 1024} / {int(r['peer_rss']) // 1024} MiB |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--small", type=int, default=4000)
    ap.add_argument("--big-mb", type=int, default=2000)
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    for tool in ("xorriso", "genisoimage"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    rows: list[dict[str, object]] = []
    started = time.strftime("%Y-%m-%d %H:%M")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "ours.py"
        script.write_text(_OURS)
        out = tmp / "out.iso"

        def ours(root: Path, udf: str, setup: str = "-") -> list[str]:
            return [PYTHON, str(script), str(root), str(out), udf, setup]

        def peer(root: Path, udf: bool) -> tuple[list[str], str]:
            if udf:  # xorriso writes no UDF; genisoimage -udf is the UDF bridge peer
                return ["genisoimage", "-quiet", "-J", "-udf", "-V", "BENCH", "-o", str(out), str(root)], "genisoimage -J -udf"
            return (["xorriso", "-report_about", "SORRY", "-as", "mkisofs", "-quiet", "-J", "-V", "BENCH", "-o", str(out),
                     str(root)], "xorriso -as mkisofs -J")

        small = tmp / "small"
        write_fileset(small, max(1, args.small // 400), 4, 4, 25, 64)
        n = sum(1 for p in small.rglob("*") if p.is_file())
        mb = sum(p.stat().st_size for p in small.rglob("*") if p.is_file()) / 1e6
        warm([p for p in small.rglob("*") if p.is_file()])
        rows.append(compare(f"{n} small files ({mb:.0f} MB), ISO 9660 + Joliet", ours(small, "none"), *peer(small, False),
                            out, args.rounds))
        rows.append(compare(f"{n} small files, UDF bridge (ours 2.60)", ours(small, "2.60"), *peer(small, True), out,
                            args.rounds))
        shutil.rmtree(small)
        if not args.skip_big:
            from publisher.media import fileset
            from publisher.media.scan import instances_from_files

            big = tmp / "big"
            count = max(1, args.big_mb * 1000 // 526)  # a 512 x 512 x 16 bit CT file is ~526 kB
            paths = clone_fileset(write_fileset(tmp / "template", 1, 1, 1, min(100, count), 512), big, count)
            shutil.rmtree(tmp / "template")
            instances = instances_from_files(paths, with_sha256=False)
            ids = fileset.assign_file_ids(instances)
            # the tree holds the files under their File IDs, so the peer sees the same names
            moved = []
            for inst in instances:
                want = big / ids[inst.sop_instance_uid]
                want.parent.mkdir(parents=True, exist_ok=True)
                os.replace(inst.path, want)
                moved.append(dataclasses.replace(inst, path=want))
            instances = moved
            setup = tmp / "setup.pickle"
            setup.write_bytes(pickle.dumps((instances, ids)))
            from publisher.media.dicomdir import write_dicomdir

            write_dicomdir(big / "DICOMDIR", instances, ids, file_set_id="BENCH")  # for the peer's tree
            for d in list(big.rglob("*"))[::-1]:
                if d.is_dir() and not any(d.iterdir()):
                    d.rmdir()
            gb = sum(p.stat().st_size for p in big.rglob("*") if p.is_file()) / 1e9
            warm([p for p in big.rglob("*") if p.is_file()])
            rows.append(compare(f"DICOMDIR + UDF bridge, {len(instances)} CT files, {gb:.2f} GB (ours 2.60, BD)",
                                ours(big, "2.60", str(setup)), *peer(big, True), out, args.rounds))
            rows.append(compare(f"same, ours UDF 1.02 (DVD)", ours(big, "1.02", str(setup)), *peer(big, True), out,
                                args.rounds))
    print(f"{started}, load average before the run {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}, {args.rounds} interleaved rounds")
    print("| data | ours: best / median s | ours incl. process start | peer: best / median s | ratio ours/peer (best; median) "
          "| ratio incl. our process start | peak RSS ours / peer |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(row(r))
    print(json.dumps({"note": "ratio < 1: ours faster; targets: small ISO+Joliet <= 1 vs xorriso, DICOMDIR + UDF 2 GB <= 1 vs genisoimage -udf"}))


if __name__ == "__main__":
    main()
