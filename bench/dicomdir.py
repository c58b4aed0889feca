"""Benchmark: DICOMDIR for 4,000 instances, ours (from MediaInstance data) vs DCMTK dcmmkdir.

    .venv/bin/python bench/dicomdir.py [--instances 4000] [--rows 64]

Ours starts from the keys the index holds (MediaInstance, read here once from the files as
setup, not timed); dcmmkdir reads every file, as it must. Best of 3 runs each.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import best_of, warm, write_fileset  # noqa: E402
from publisher.media import fileset  # noqa: E402
from publisher.media.dicomdir import write_dicomdir  # noqa: E402
from publisher.media.scan import instances_from_files  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=4000)
    ap.add_argument("--rows", type=int, default=64)
    args = ap.parse_args()
    per_series = 25
    patients = max(1, args.instances // (4 * 4 * per_series))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "fs"
        paths = write_fileset(root, patients, 4, 4, per_series, args.rows)
        instances = instances_from_files(paths, with_sha256=False)
        ids = {i.sop_instance_uid: p.relative_to(root).as_posix() for i, p in zip(instances, paths)}
        assert all(fileset.valid_file_id(v) for v in ids.values())
        warm(paths)
        ours_out = Path(tmp) / "DICOMDIR.ours"
        theirs_out = Path(tmp) / "DICOMDIR.dcmtk"

        def ours() -> None:
            write_dicomdir(ours_out, instances, ids, file_set_id="BENCH")

        def dcmmkdir() -> None:
            subprocess.run(["dcmmkdir", "-q", "-Pgp", "+r", "+id", str(root), "--output-file", str(theirs_out), "DICOM"],
                           check=True)
            theirs_out.unlink()

        t_ours = best_of(3, ours)
        t_dcmtk = best_of(3, dcmmkdir) if shutil.which("dcmmkdir") else float("nan")
        n = len(instances)
        print(f"DICOMDIR for {n} instances ({args.rows}x{args.rows} CT, {sum(p.stat().st_size for p in paths) / 1e6:.0f} MB)")
        print(f"| tool | seconds |\n| --- | --- |\n| ours (publisher.media.dicomdir) | {t_ours:.3f} |")
        print(f"| DCMTK dcmmkdir | {t_dcmtk:.3f} |")
        print(f"ratio ours/dcmmkdir = {t_ours / t_dcmtk:.2f} (target <= 1.0)")


if __name__ == "__main__":
    main()
