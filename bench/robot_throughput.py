"""Benchmark: discs per hour of the job worker on a 2-drive robot vs the schedule's lower bound.

    .venv/bin/python bench/robot_throughput.py [--jobs 24] [--scale 0.02] [--no-old]

A stream of jobs (1 and 2 copies, CD and DVD, each a small study generated with
``publisher.demo.samples`` and stored in a real archive, so mastering is real work) is queued at
once and run by the real :class:`publisher.jobs.worker.JobWorker` (its scheduler, its runner)
on the :class:`robot_drivers.sim.timing.TimingSimulator` (2 drives, default ``Timings``), whose
moves take ``scale`` x the robot's seconds. The makespan runs from the worker's start to the
last disc in the output bin, and is converted back to robot seconds, so is mastering (measured
by the worker, ``JobWorker.steps``).

The lower bound is :func:`robot_drivers.sim.drive_pool.lower_bound` of the same stream (docstring
there and docs/performance.md): max(drive work / 2, the longest mastering + one disc's
chain, the arm's moves, the printer's work). Ratio = achieved discs per hour / the bound's
(target >= 0.95, docs/architecture.md, section 6). ``--no-old`` skips the former one-job-at-a-time runner,
which runs the same stream again (re-queued, mastered anew) for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robot_drivers.manifest import ImageManifest  # noqa: E402
from robot_drivers.sim.drive_pool import DiscTimes, LowerBound, StreamJob, lower_bound  # noqa: E402
from robot_drivers.sim.timing import TimingSimulator  # noqa: E402
from sqlalchemy import select  # noqa: E402

from publisher.demo import samples as S  # noqa: E402
from publisher.archive.ingest import Archive, Provenance  # noqa: E402
from publisher.archive.parse import configure_pydicom  # noqa: E402
from publisher.db import migrate  # noqa: E402
from publisher.db.models import DiscJob  # noqa: E402
from publisher.db.session import Database  # noqa: E402
from publisher.jobs.disc_job import ROBOT_MEDIA, JobContext, create_job  # noqa: E402
from publisher.jobs.selection import Selection  # noqa: E402
from publisher.jobs.worker import JobWorker  # noqa: E402

#: the stream, repeated as needed: (copies, media, CT slices of 128 x 128)
PATTERN = ((1, "cd", 12), (2, "cd", 20), (1, "dvd", 8), (1, "cd", 30), (2, "dvd", 16), (1, "cd", 10))


def _studies(n: int) -> list[tuple[S.StudySpec, int, str]]:
    out = []
    for i in range(n):
        copies, media, slices = PATTERN[i % len(PATTERN)]
        patient = S.PatientSpec(f"Bench^Patient{i:02d}", f"BENCH{i:03d}", charset="ISO_IR 100")
        spec = S.StudySpec(patient, f"stream{i:02d}", f"Bench study {i}", accession=f"B{i:04d}",
                           series=(S.SeriesSpec("ct", slices, 1, "Axial", 128, 128), S.SeriesSpec("sr", 1, 90, "Report")))
        out.append((spec, copies, media))
    return out


def _queue(db: Database, stream: list[tuple[S.StudySpec, int, str]]) -> list[int]:
    return [create_job(db, Selection(studies=[spec.uid]), media=media, copies=copies, created_by="bench")
            for spec, copies, media in stream]


def _run(db: Database, archive: Archive, jobs_root: Path, ids: list[int], scale: float, lock_dir: Path,
         parallel: bool) -> tuple[float, float, TimingSimulator, JobWorker]:
    """Run the queued ``ids`` to the end; (makespan in robot seconds, wall seconds, robot, worker)."""
    robot = TimingSimulator(drives=2, blanks=1000, time_scale=scale, lock_dir=lock_dir)
    worker = JobWorker(JobContext(db, archive.root, jobs_root, robot, institution="Bench Hospital"), [],
                       tick_seconds=1.0, parallel=parallel)
    t0 = time.monotonic()
    worker.start()
    try:
        while True:
            with db.session() as s:
                states = list(s.scalars(select(DiscJob.state).where(DiscJob.id.in_(ids))))
            if all(st in ("done", "failed", "cancelled") for st in states):
                break
            time.sleep(0.05)
    finally:
        worker.stop()
    wall = time.monotonic() - t0
    failed = [st for st in states if st != "done"]
    if failed:
        raise SystemExit(f"{len(failed)} job(s) did not finish: {failed}")
    end = max(a.end for a in robot.activity.items)
    return robot.clock.robot_seconds(end - t0), wall, robot, worker


def _image_sizes(db: Database, ids: list[int]) -> list[int]:
    with db.session() as s:
        return [ImageManifest.of(v["image"]).size for job_id in ids
                for v in json.loads(s.get(DiscJob, job_id).volumes)]  # type: ignore[union-attr]


def _bound(db: Database, ids: list[int], robot: TimingSimulator, worker: JobWorker) -> LowerBound:
    """The stream's lower bound: mastering times as measured by the worker, disc times from
    the simulator's Timings for each image's size and medium."""
    mastering = {s.job_id: robot.clock.robot_seconds(s.end - s.start) for s in worker.steps if s.step == "master"}
    jobs = []
    with db.session() as s:
        for job_id in ids:
            job = s.get(DiscJob, job_id)
            assert job is not None
            discs: list[DiscTimes] = []
            for v in json.loads(job.volumes):
                size = ImageManifest.of(v["image"]).size
                discs += [robot.timings.disc(size, ROBOT_MEDIA[job.media], verify=True, label=True)] * job.copies
            jobs.append(StreamJob(mastering[job_id], tuple(discs)))
    return lower_bound(jobs, drives=robot.drive_count)


def _row(label: str, makespan: float, wall: float, bound: LowerBound) -> str:
    dph = bound.discs * 3600 / makespan
    return (f"| {label} | {bound.discs} | {makespan:.0f} | {wall:.1f} | {dph:.1f} | {bound.discs_per_hour:.1f} | "
            f"**{bound.ratio(makespan):.3f}** | {bound.with_fill / makespan:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=24)
    ap.add_argument("--scale", type=float, default=0.02, help="real seconds per robot second")
    ap.add_argument("--no-old", action="store_true", help="skip the one-job-at-a-time runner")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp_name:
        tmp = Path(tmp_name)
        db = Database(f"sqlite:///{tmp / 'index.db'}")
        migrate.upgrade(db.engine)
        configure_pydicom()  # as the service does at start
        archive = Archive(tmp / "archive", db)
        stream = _studies(args.jobs)
        for spec, _, _ in stream:
            for path in S.write_study(spec, tmp / "in" / spec.key):
                archive.store_file(path, Provenance("BENCH"))
        ids = _queue(db, stream)
        makespan, wall, robot, worker = _run(db, archive, tmp / "jobs", ids, args.scale, tmp / "locks", True)
        bound = _bound(db, ids, robot, worker)
        sizes = _image_sizes(db, ids)
        rows = ["| runner | discs | makespan (robot s) | wall s | discs/hour | bound's discs/hour | ratio | ratio to the bound with fill |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |",
                _row("pipeline (master ahead, discs on free drives)", makespan, wall, bound)]
        if not args.no_old:
            old_ids = _queue(db, stream)
            old_makespan, old_wall, _, _ = _run(db, archive, tmp / "jobs", old_ids, args.scale, tmp / "locks", False)
            rows.append(_row("one job at a time (former runner)", old_makespan, old_wall, bound))
        db.dispose()
    mastering = [j for j in worker.steps if j.step == "master"]
    print("\n".join(rows))
    print(json.dumps({
        "jobs": args.jobs, "discs": bound.discs, "scale": args.scale,
        "image_mb": [round(min(sizes) / 1e6, 1), round(max(sizes) / 1e6, 1)],
        "bound_s": {"drives": round(bound.drive_term, 1), "chain": round(bound.chain_term, 1),
                    "arm": round(bound.arm_term, 1), "printer": round(bound.printer_term, 1),
                    "limited_by": bound.limited_by, "with_fill": round(bound.with_fill, 1),
                    "first_disc_ready": round(bound.first_disc, 1)},
        "mastering_s": {"sum": round(sum(robot.clock.robot_seconds(m.end - m.start) for m in mastering), 1),
                        "max": round(max(robot.clock.robot_seconds(m.end - m.start) for m in mastering), 1)},
        "note": "ratio = achieved discs/hour / the bound's (target >= 0.95); robot seconds = real / scale",
    }))


if __name__ == "__main__":
    main()
