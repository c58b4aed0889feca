"""``publisher db upgrade``, ``publisher import`` and ``publisher archive check``."""

from __future__ import annotations

import argparse
import sys
from tqdm import tqdm

from publisher.cli.common import walk_files, prepared, settings_from


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from publisher.db import migrate
    from publisher.db.session import Database

    settings = settings_from(args)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    migrate.upgrade(db.engine, args.revision, archive_root=settings.archive_root)
    print(f"database at revision {migrate.current_revision(db.engine)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from publisher.archive.ingest import Provenance, StoreRefused

    files = list(walk_files(args.paths))
    counts: dict[str, int] = {}
    failures: list[str] = []
    with prepared(settings_from(args)) as service, tqdm(total=len(files), unit="file", desc="import", disable=args.quiet) as bar:
        for f in files:
            try:
                outcome = service.archive.store_file(f, Provenance("IMPORT")).outcome
                counts[outcome] = counts.get(outcome, 0) + 1
            except StoreRefused as exc:
                failures.append(f"{f}: {exc.reason}")
            bar.update(1)
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "nothing stored"
    print(f"{summary}; {len(failures)} refused")
    for line in failures[:50]:
        print(f"  refused {line}", file=sys.stderr)
    return 1 if failures else 0


def cmd_archive_check(args: argparse.Namespace) -> int:
    from publisher.archive.check import check

    with prepared(settings_from(args)) as service:
        report = check(service.archive, verify_hashes=args.verify, repair=args.repair)
    print(f"{report.rows} index rows, {report.files} files")
    for label, items in (
        ("missing file", report.missing_files),
        ("size differs", report.size_mismatch),
        ("hash differs", report.hash_mismatch),
        ("file not in index", report.orphan_files),
        ("could not repair", report.unrepairable),
    ):
        for item in items:
            print(f"  {label}: {item}")
    if args.repair:
        print(f"repaired {report.repaired}")
    return 0 if report.clean or (args.repair and not report.unrepairable) else 1
