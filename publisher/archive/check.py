"""Reconcile archive files and index rows, e.g. after a crash or a restore from backup.

The store path guarantees no row without its file; a process killed between rename and commit
can leave a file without a row. ``check`` finds both kinds of drift; ``repair`` re-files orphan
files through the normal ingest path and drops rows whose file is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, select

from publisher.archive import durable
from publisher.archive.ingest import Archive, Provenance, StoreRefused
from publisher.db.models import Instance


@dataclass
class CheckReport:
    rows: int = 0
    files: int = 0
    missing_files: list[str] = field(default_factory=list)
    size_mismatch: list[str] = field(default_factory=list)
    hash_mismatch: list[str] = field(default_factory=list)
    orphan_files: list[str] = field(default_factory=list)
    repaired: int = 0
    unrepairable: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing_files or self.size_mismatch or self.hash_mismatch or self.orphan_files)


def _archive_files(root: Path) -> Iterator[Path]:
    for p in root.rglob("*.dcm"):
        if durable.INCOMING not in p.parts:
            yield p


def check(archive: Archive, *, verify_hashes: bool = False, repair: bool = False,
          progress: Callable[[int], None] | None = None) -> CheckReport:
    report = CheckReport()
    known: dict[str, tuple[int, int, str]] = {}
    with archive.db.session() as s:
        for iid, path, size, sha in s.execute(select(Instance.id, Instance.path, Instance.size, Instance.sha256)):
            known[path] = (iid, size, sha)
    report.rows = len(known)
    for rel, (iid, size, sha) in known.items():
        f = archive.root / rel
        if not f.is_file():
            report.missing_files.append(rel)
        elif f.stat().st_size != size:
            report.size_mismatch.append(rel)
        elif verify_hashes and durable.sha256_file(f) != sha:
            report.hash_mismatch.append(rel)
        if progress:
            progress(1)
    for f in _archive_files(archive.root):
        report.files += 1
        rel = f.relative_to(archive.root).as_posix()
        if rel not in known:
            report.orphan_files.append(rel)
    if repair:
        _repair(archive, report, known)
    return report


def _repair(archive: Archive, report: CheckReport, known: dict[str, tuple[int, int, str]]) -> None:
    gone = [known[rel][0] for rel in report.missing_files]
    if gone:
        with archive.db.session() as s:
            s.execute(delete(Instance).where(Instance.id.in_(gone)))
        report.repaired += len(gone)
    for rel in report.orphan_files + report.size_mismatch + report.hash_mismatch:
        path = archive.root / rel
        try:
            stored = archive.store_file(path, Provenance("REPAIR"))
            if stored.path != path:
                path.unlink(missing_ok=True)  # a stray copy of an instance filed elsewhere
            report.repaired += 1
        except StoreRefused as exc:
            report.unrepairable.append(f"{rel}: {exc.reason}")
