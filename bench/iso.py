"""Benchmark: our ISO 9660 + Joliet and UDF bridge images against xorriso and genisoimage.

    .venv/bin/python bench/iso.py [--rounds 5] [--small 4000] [--big-mb 2000] [--skip-big]
    (or through ``make bench`` / ``bench/run.py``, which calls :func:`rows`)

Rows (issue 19 targets: ratio ours / peer <= 1, "no slower"):

* 4,000 small CT files (64 x 64), ISO 9660 + Joliet: ours vs ``xorriso -as mkisofs -J``;
* ~2 GB of 512 x 512 CT files, DICOMDIR + ISO/UDF bridge: ours (``write_dicomdir`` from index
  data, then the image: UDF 1.02 as on DVD, and UDF 2.60 with a Metadata Partition as on BD) vs
  ``genisoimage -J -udf`` (UDF 1.02) on the same tree with the DICOMDIR already in it;
* for information (no target), the 4,000 small files as a UDF 2.60 bridge vs ``genisoimage``.

Rounds are interleaved (ours, peer, ours, peer, ...) so a slow spell of the shared machine falls
on both; each side runs as a child process on a warm page cache, after a ``sync``, and its image
is deleted after it. "ours" is the time inside our process from the file list to the finished
image (what the service pays: it masters in a running process, it starts none per disc); the
peer's time is its process wall time. Beside the wall times each row gives the CPU time (user +
sys) of both: on a loaded 2-core machine the wall time follows the CPU time times the share of
the CPUs a process gets, so CPU is the steadier figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import PYTHON, warm, write_fileset  # noqa: E402

_OURS = """
import json, os, pickle, resource, sys, time
from pathlib import Path
from publisher.media.dicomdir import write_dicomdir
from publisher.media.iso import write_image
from publisher.media.model import DiscFile
root, out, udf, setup = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
state = pickle.loads(Path(setup).read_bytes()) if setup != "-" else None
ru0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
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
seconds, ru1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
cpu = ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "cpu": cpu, "vmhwm_kib": hwm}))
"""

ROOT = str(Path(__file__).resolve().parents[1])
XORRISO = ("xorriso -as mkisofs -J", ["xorriso", "-report_about", "SORRY", "-as", "mkisofs", "-quiet", "-J"])
GENISOIMAGE = ("genisoimage -J -udf", ["genisoimage", "-quiet", "-J", "-udf"])


@dataclasses.dataclass
class Run:
    seconds: float  #: ours: inside the process; a peer: its wall time
    wall: float  #: the child's wall time, process start included
    cpu: float  #: ours: user + sys inside the timed part; a peer: of the whole process
    peak_kib: int


def run_child(cmd: list[str]) -> Run:
    """Run ``cmd`` after a ``sync`` (the previous run's dirty pages are not this run's cost)."""
    os.sync()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": ROOT})
    peak, status_file = 0, Path(f"/proc/{proc.pid}/status")
    while True:  # wait4 gives the child's CPU time; VmHWM is per process image, polled every 10 ms
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            peak = max([peak] + [int(s.split()[1]) for s in status_file.read_text().splitlines() if s.startswith("VmHWM:")])
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read().decode() if proc.stdout else ""
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    if out.strip().startswith("{"):  # ours reports its own figures
        mine = json.loads(out)
        return Run(mine["seconds"], wall, mine["cpu"], max(peak, mine["vmhwm_kib"]))
    return Run(wall, wall, usage.ru_utime + usage.ru_stime, peak)


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


def big_tree(tmp: Path, big_mb: int) -> tuple[Path, Path, int]:
    """~``big_mb`` MB of 512 x 512 CT files under their File IDs with the DICOMDIR (for the
    peer), and a pickle of (MediaInstances, File IDs) our side writes its DICOMDIR from."""
    from publisher.media import fileset
    from publisher.media.dicomdir import write_dicomdir
    from publisher.media.scan import instances_from_files

    big = tmp / "big"
    count = max(1, big_mb * 1000 // 526)  # a 512 x 512 x 16 bit CT file is ~526 kB
    paths = clone_fileset(write_fileset(tmp / "template", 1, 1, 1, min(100, count), 512), big, count)
    shutil.rmtree(tmp / "template")
    instances = instances_from_files(paths, with_sha256=False)
    ids = fileset.assign_file_ids(instances)
    moved = []  # the tree holds the files under their File IDs, so the peer sees the same names
    for inst in instances:
        want = big / ids[inst.sop_instance_uid]
        want.parent.mkdir(parents=True, exist_ok=True)
        os.replace(inst.path, want)
        moved.append(dataclasses.replace(inst, path=want))
    setup = tmp / "setup.pickle"
    setup.write_bytes(pickle.dumps((moved, ids)))
    write_dicomdir(big / "DICOMDIR", moved, ids, file_set_id="BENCH")
    for d in sorted(big.rglob("*"), reverse=True):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    return big, setup, len(moved)


def _pair(xs: list[float]) -> tuple[float, float]:
    return min(xs), statistics.median(xs)


def compare(work: str, ours: list[str], peer: tuple[str, list[str]], out: Path, rounds: int,
            target: float | None) -> dict[str, Any]:
    """One row of :func:`rows`: ``rounds`` interleaved runs of ours and the peer (on the tree
    ``ours`` masters: its third argument)."""
    name, peer_cmd = peer
    o: list[Run] = []
    p: list[Run] = []
    for _ in range(rounds):
        for side, cmd in ((o, ours), (p, peer_cmd + ["-V", "BENCH", "-o", str(out), ours[2]])):
            out.unlink(missing_ok=True)
            side.append(run_child(cmd))
            out.unlink(missing_ok=True)
    (ob, om), (pb, pm) = _pair([r.seconds for r in o]), _pair([r.seconds for r in p])
    (ocb, ocm), (pcb, pcm) = _pair([r.cpu for r in o]), _pair([r.cpu for r in p])
    wb, wm = _pair([r.wall for r in o])
    ratio = ob / pb
    row: dict[str, Any] = {
        "work": work, "ours_s": ob, "ours_median_s": om, "peer": name, "peer_s": pb, "peer_median_s": pm,
        "ratio": ratio, "ratio_median": om / pm,
        "target": "-" if target is None else f"ratio <= {target:.2f} (no slower than {name})",
        "met": None if target is None else ratio <= target,
        "ours_cpu_s": (ocb, ocm), "peer_cpu_s": (pcb, pcm), "ours_wall_s": (wb, wm),
        "peak_mib": (max(r.peak_kib for r in o) // 1024, max(r.peak_kib for r in p) // 1024),
    }
    row["note"] = (f"CPU user+sys best / median: ours {ocb:.2f} / {ocm:.2f} s, peer {pcb:.2f} / {pcm:.2f} s "
                   f"(ratio {ocb / pcb:.2f}; {ocm / pcm:.2f}); our child's wall time incl. interpreter start and loading its input "
                   f"{wb:.2f} / {wm:.2f} s; peak RSS {row['peak_mib'][0]} / {row['peak_mib'][1]} MiB")
    return row


def rows(rounds: int = 5, *, small: int = 4000, big_mb: int = 2000, skip_big: bool = False) -> list[dict[str, Any]]:
    """The image rows of the performance table (``bench/run.py``), ``rounds`` interleaved rounds."""
    for tool in ("xorriso", "genisoimage"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (make peers)")
    out_rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="bench-iso-") as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "ours.py"
        script.write_text(_OURS)
        out = tmp / "out.iso"

        def ours(root: Path, udf: str, setup: str = "-") -> list[str]:
            return [PYTHON, str(script), str(root), str(out), udf, setup]

        tree = tmp / "small"
        write_fileset(tree, max(1, small // 400), 4, 4, 25, 64)
        listed = [p for p in tree.rglob("*") if p.is_file()]
        mb = sum(p.stat().st_size for p in listed) / 1e6
        warm(listed)
        out_rows.append(compare(f"ISO 9660 + Joliet, {len(listed):,} small files ({mb:.0f} MB)", ours(tree, "none"),
                                XORRISO, out, rounds, 1.0))
        out_rows.append(compare(f"UDF 2.60 bridge, the same {len(listed):,} small files (no target)", ours(tree, "2.60"),
                                GENISOIMAGE, out, rounds, None))
        shutil.rmtree(tree)
        if not skip_big:
            big, setup, count = big_tree(tmp, big_mb)
            listed = [p for p in big.rglob("*") if p.is_file()]
            gb = sum(p.stat().st_size for p in listed) / 1e9
            warm(listed)
            out_rows.append(compare(f"DICOMDIR + ISO/UDF 1.02 bridge (DVD), {count:,} CT files, {gb:.2f} GB",
                                    ours(big, "1.02", str(setup)), GENISOIMAGE, out, rounds, 1.0))
            out_rows.append(compare(f"DICOMDIR + ISO/UDF 2.60 bridge with Metadata Partition (BD), same files",
                                    ours(big, "2.60", str(setup)), GENISOIMAGE, out, rounds, 1.0))
    return out_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--small", type=int, default=4000)
    ap.add_argument("--big-mb", type=int, default=2000)
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    from bench.run import machine_line, table

    print(machine_line())
    result = rows(args.rounds, small=args.small, big_mb=args.big_mb, skip_big=args.skip_big)
    print(table(result))


if __name__ == "__main__":
    main()
