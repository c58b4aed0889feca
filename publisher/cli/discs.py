"""``publisher master``, ``burn`` and ``jobs``: disc images and disc jobs."""

from __future__ import annotations

import argparse
import sys
from tqdm import tqdm

from publisher.cli.common import prepared, progress_bar, settings_from
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publisher.service import Service


def cmd_master(args: argparse.Namespace) -> int:
    from publisher.audit import current_user, record_volumes
    from publisher.jobs.selection import EmptySelection, Selection, select_instances
    from publisher.jobs.viewer import master_with_viewer, viewer_cache
    from publisher.media import MediaError

    with prepared(settings_from(args)) as service:
        try:
            with service.db.session() as s:
                instances, rejected = select_instances(s, Selection(args.patient, args.study, args.series), service.archive.root)
        except EmptySelection as exc:
            sys.exit(f"publisher master: {exc}")
        with tqdm(total=sum(i.size for i in instances), unit="B", unit_scale=True, desc="master", disable=args.quiet) as bar:
            try:
                volumes = master_with_viewer(
                    instances, args.media, args.out, rejected=rejected, viewer=args.viewer,
                    institution=args.institution, profile=args.profile, capacity=args.capacity,
                    exclude={uid: "" for uid in args.exclude}, compress=args.compress, progress=progress_bar(bar),
                    cache=viewer_cache(service.settings.data_dir, service.settings.jobs.viewer_cache_bytes),
                )
            except MediaError as exc:
                for problem in getattr(exc, "problems", ()):
                    print(f"  cannot go on {args.media}: {problem.line()}", file=sys.stderr)
                sys.exit(f"publisher master: {exc}")
        skipped = sum(1 for i in instances if i.sop_instance_uid in rejected)
        with service.db.session() as s:
            record_volumes(s, current_user(), volumes, skipped)
    if skipped:
        print(f"{skipped} rejected instance(s) left out (IHE IOCM rejection notes)")
    for v in volumes:
        target = v.image or v.root
        print(f"disc {v.number} of {v.count}: {target}  {v.size / 1e6:.1f} MB, {len(v.instances)} instances")
    return 0


def cmd_burn(args: argparse.Namespace) -> int:
    from publisher.audit import current_user
    from publisher.jobs.disc_job import create_job
    from publisher.jobs.selection import EmptySelection, Selection

    with prepared(settings_from(args)) as service:
        try:
            job_id = create_job(service.db, Selection(args.patient, args.study, args.series), media=args.media,
                                copies=args.copies, comment=args.comment, profile=args.profile or "",
                                created_by=current_user(), compress=args.compress,
                                exclude={uid: "" for uid in args.exclude})
        except (EmptySelection, ValueError) as exc:
            sys.exit(f"publisher burn: {exc}")
        print(f"disc job {job_id} queued ({args.copies} copies, {args.media})", flush=True)
        return _run_with_bar(service, job_id, args.quiet)


def _run_with_bar(service: "Service", job_id: int, quiet: bool) -> int:
    from robot_drivers import RobotError

    from publisher.archive.lookup import disc_job
    from publisher.jobs import records
    from publisher.jobs.disc_job import run_job
    from publisher.jobs.state import InvalidTransition, JobState

    try:
        context = service.job_context()
    except (TypeError, ValueError, OSError, RobotError) as exc:  # the robot's start-up check, its options
        sys.exit(f"disc job {job_id} stays queued: robot {service.settings.robot!r} could not be set up ({exc})")
    with tqdm(total=1, unit="B", unit_scale=True, desc=f"job {job_id}", disable=quiet) as bar:
        try:
            state = run_job(context, job_id, progress_bar(bar))
        except InvalidTransition:
            sys.exit(f"disc job {job_id} is being run elsewhere (another publisher process took it)")
    with service.db.session() as s:
        job = disc_job(s, job_id)
        assert job is not None
        problems = records.load_problems(job.problems)
        for d in records.load_discs(job.discs):
            mark = "ok" if d.ok else f"REJECTED ({d.error})"
            print(f"  disc {d.volume}, copy {d.copy}: {mark}, {d.bin} bin")
        for v in records.load_volumes(job.volumes):
            if v.insert:
                print(f"  disc {v.number}: the label names some patients; print the case insert {v.insert}")
        for p in problems:
            print(f"  cannot go on {job.media}: {p.what} (SOP Instance UID {p.uid}): {p.reason}", file=sys.stderr)
        if problems:
            print(f"  to leave them out: publisher jobs --run {job_id} --exclude-problems", file=sys.stderr)
        print(f"disc job {job_id}: {state.value}" + (f" - {job.error}" if job.error else ""))
    return 0 if state is JobState.DONE else 1


def cmd_jobs(args: argparse.Namespace) -> int:
    from publisher.archive.lookup import disc_job, recent_jobs
    from publisher.jobs.disc_job import resubmit
    from publisher.jobs.state import InvalidTransition

    with prepared(settings_from(args)) as service:
        if args.run is None:
            with service.db.session() as s:
                for job in recent_jobs(s, args.limit):
                    pct = f"{100 * job.progress_done // job.progress_total}%" if job.progress_total else ""
                    print(f"{job.id:6d}  {job.state:9s} {pct:>4s}  {job.media:5s} x{job.copies}  {job.created_at:%Y-%m-%d %H:%M}"
                          f"  {job.created_by}  {job.comment}" + (f"  [{job.error}]" if job.error else ""))
            return 0
        with service.db.session() as s:
            found = disc_job(s, args.run)
            state = found.state if found is not None else None
        if state is None:
            sys.exit(f"publisher jobs: no disc job {args.run}")
        if state == "failed":
            try:  # a person asks for it again: master and burn anew
                resubmit(service.db, args.run, exclude=args.exclude, exclude_problems=args.exclude_problems)
            except InvalidTransition as exc:
                sys.exit(f"publisher jobs: job {args.run}: {exc}")
        elif state not in ("queued", "mastered"):
            sys.exit(f"publisher jobs: job {args.run} is {state}; only queued, mastered or failed jobs run")
        return _run_with_bar(service, args.run, args.quiet)
