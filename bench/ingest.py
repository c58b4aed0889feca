"""Receive, store and index CT: DCMTK storescp, Orthanc and us, interleaved in one run.

    .venv/bin/python bench/ingest.py [--rounds 3] [--count 500] [--associations 8 --per 100]
                                     [--size 512] [--database sqlite|postgresql|mariadb]

Two works: ``--count`` instances over one association, and ``--associations`` concurrent
associations of ``--per`` instances each (one series each). DCMTK's own ``/usr/bin/storescu``
sends (by full path: the venv holds pynetdicom's scripts of the same names), with TCP_NODELAY=1
(docs/architecture.md, section 4). The receivers, each started empty for every measurement:

- DCMTK ``/usr/bin/storescp`` (files only, no index, no sync; ``--fork`` for concurrent
  associations, one process each), the floor of the transfer itself;
- Orthanc (its SQLite index);
- us, durable: a success only once the file, its folder entry and its row are (in this
  process, so that its sync counters can be read: ``publisher.archive.durable.COUNTS``).

Each round runs every receiver once per work, in turn, so a slow spell of this shared machine
falls on all of them; printed are the best and the median. :func:`rows` gives the same figures
to ``make bench``. Where a target is below what this disk allows, the floor is shown beside it:
the transfer (storescp's time) plus the syncs we must wait for one after the other, per
instance, times what one takes here (measured in the same run).

``BENCH_PUBLISHER_TREE=/path/to/an/other/checkout`` measures that tree's ``publisher`` instead
(before/after comparisons).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._peers import DCMTK_ENV, free_port, orthanc, storescp, wait_echo  # noqa: E402

if os.environ.get("BENCH_PUBLISHER_TREE"):  # its publisher, this tree's benchmark
    sys.path.insert(0, os.environ["BENCH_PUBLISHER_TREE"])
from publisher.demo import samples  # noqa: E402

STORESCU = "/usr/bin/storescu"
OURS = "disc publisher"
Server = Callable[[Path, bool], AbstractContextManager[tuple[int, str]]]


def write_series(folder: Path, count: int, size: int, series: int = 1) -> list[list[Path]]:
    """``series`` folders of ``count`` CT slices of ``size`` x ``size`` x 16 bit, one study."""
    spec = samples.StudySpec(samples.ASCII_PATIENT, f"bench{series}", "Bench CT",
                             series=tuple(samples.SeriesSpec("ct", count, n + 1, f"Bench {n}", size, size) for n in range(series)))
    out: dict[int, list[Path]] = {}
    for ds in samples.build_study(spec):
        sub = folder / str(ds.SeriesNumber)
        sub.mkdir(parents=True, exist_ok=True)
        p = sub / f"{ds.SOPInstanceUID}.dcm"
        samples.as_file(ds).save_as(p, enforce_file_format=True)
        out.setdefault(int(ds.SeriesNumber), []).append(p)
    return list(out.values())


@contextmanager
def ours(data: Path, database_url: str) -> Iterator[tuple[int, str]]:
    from publisher.config import load_settings
    from publisher.service import Service

    port = free_port()
    env = {"PUBLISHER_DATA_DIR": str(data), "PUBLISHER_DICOM_PORT": str(port), "PUBLISHER_HTTP_PORT": str(free_port()),
           "PUBLISHER_PROMISCUOUS": "true", "PUBLISHER_LOAD_SAMPLES": "false"}
    if database_url:
        env["PUBLISHER_DATABASE_URL"] = database_url
    service = Service(load_settings(environ=env))
    service.prepare()
    service.start_dicom()
    try:
        wait_echo(port, "DISCPUB")
        yield port, "DISCPUB"
    finally:
        service.stop()


def send(port: int, aec: str, folders: list[Path]) -> float:
    """Seconds from the first association's start to the last one's end (one storescu each)."""
    start = time.perf_counter()
    procs = [subprocess.Popen([STORESCU, "-aet", "STORESCU", "-aec", aec, "127.0.0.1", str(port), "+sd", str(f)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=DCMTK_ENV) for f in folders]
    errors = [p.communicate()[1] for p in procs]
    elapsed = time.perf_counter() - start
    for p, err in zip(procs, errors):
        if p.returncode:
            raise RuntimeError(f"storescu to {aec} failed: {err.decode(errors='replace')[-500:]}")
    return elapsed


def sync_costs(folder: Path, size: int, n: int = 60) -> dict[str, float]:
    """Median seconds of one fdatasync of a new ``size``-byte file and of one SQLite commit
    (WAL, synchronous=FULL, as our index), measured here and now."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = os.urandom(size)
    files, commits = [], []
    db = sqlite3.connect(folder / "probe.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    for i in range(n):
        fd = os.open(folder / f"{i}.probe", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        os.write(fd, payload)
        t0 = time.perf_counter()
        os.fdatasync(fd)
        files.append(time.perf_counter() - t0)
        os.close(fd)
        t0 = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (v) VALUES (?)", (str(i),))
        db.execute("COMMIT")
        commits.append(time.perf_counter() - t0)
    db.close()
    shutil.rmtree(folder, ignore_errors=True)
    return {"fdatasync": statistics.median(files), "commit": statistics.median(commits)}


def counts() -> dict[str, int]:
    try:
        from publisher.archive.durable import COUNTS
    except ImportError:  # a tree from before the counters (BENCH_PUBLISHER_TREE)
        return {}
    return COUNTS.snapshot()


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """A new empty database of ``kind`` for one measurement ('' for SQLite in the data folder)."""
    if kind == "sqlite":
        yield ""
        return
    import uuid

    from sqlalchemy import create_engine, make_url, text

    admin_url = {"postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
                 "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test"}[kind]
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if kind == "postgresql" else "")))
        admin.dispose()


def measure(rounds: int, count: int = 500, associations: int = 8, per: int = 100, size: int = 512,
            database: str = "sqlite") -> dict[str, Any]:
    """Interleaved times {work: {receiver: [seconds]}}, our syncs per instance, the sync costs."""
    with tempfile.TemporaryDirectory(prefix="bench-ingest-", dir=os.environ.get("BENCH_TMP")) as tmp:
        work = Path(tmp)
        works = {
            f"ingest {count} CT, 1 association": write_series(work / "one", count, size),
            f"ingest {associations} x {per} CT, {associations} associations": write_series(work / "many", per, size, associations),
        }

        def ours_on(d: Path, concurrent: bool) -> AbstractContextManager[tuple[int, str]]:
            return _ours_fresh(d, database)

        receivers: dict[str, Server] = {"DCMTK storescp": storescp, "Orthanc": lambda d, c: orthanc(d), OURS: ours_on}
        times: dict[str, dict[str, list[float]]] = {w: {r: [] for r in receivers} for w in works}
        syncs: dict[str, dict[str, float]] = {}
        costs: list[dict[str, float]] = []
        for r in range(rounds):
            costs.append(sync_costs(work / "probe", size * size * 2))
            for w, series in works.items():
                folders = [files[0].parent for files in series]
                for i, (name, server) in enumerate(receivers.items()):
                    target = work / f"{name[:3]}-{r}-{i}"
                    before = counts()
                    with server(target, len(folders) > 1) as (port, aec):
                        times[w][name].append(send(port, aec, folders))
                    if name == OURS and before:
                        after, n = counts(), sum(len(s) for s in series)
                        syncs[w] = {k: (after[k] - before[k]) / n for k in after}
                    shutil.rmtree(target, ignore_errors=True)
        cost = {k: statistics.median(c[k] for c in costs) for k in costs[0]}
        instances = {w: sum(len(s) for s in series) for w, series in works.items()}
    return {"times": times, "syncs": syncs, "cost": cost, "instances": instances,
            "associations": {w: len(series) for w, series in works.items()}}


@contextmanager
def _ours_fresh(data: Path, database: str) -> Iterator[tuple[int, str]]:
    with fresh_database(database) as url, ours(data, url) as where:
        yield where


#: (concurrent associations?, peer, greatest ours/peer time ratio, what it means)
TARGETS = [
    (False, "Orthanc", 1 / 1.5, "at least 1.5x Orthanc's speed"),
    (False, "DCMTK storescp", 2.5, "within 2.5x storescp"),
    (True, "Orthanc", 1 / 2, "at least 2x Orthanc's speed"),
    (True, "DCMTK storescp", None, "-"),
]


def rows(rounds: int, **options: Any) -> list[dict[str, Any]]:
    """One row per (work, peer): best times (``ours_s``, ``peer_s``), ``ratio`` = ours / peer
    (below 1: we are faster), the ``target``; also the medians, whether the target is met and,
    where it is not, the floor this disk allows (``floor_s``)."""
    m = measure(rounds, **options)
    out = []
    for work, by in m["times"].items():
        mine = by[OURS]
        per = m["syncs"].get(work, {})
        # Syncs waited for one after the other per instance: the file's and its folder's run
        # at once (one wait), then the commit (shared by a group).
        serial = m["cost"]["fdatasync"] + per.get("commit", 1.0) * m["cost"]["commit"]
        waits = m["instances"][work] // m["associations"][work]  # the associations wait side by side
        floor = min(by["DCMTK storescp"]) + waits * serial
        for concurrent, peer, limit, meaning in TARGETS:
            if concurrent != (m["associations"][work] > 1):
                continue
            theirs = by[peer]
            ratio = min(mine) / min(theirs)
            row: dict[str, Any] = {
                "work": work, "ours_s": min(mine), "peer": peer, "peer_s": min(theirs), "ratio": ratio,
                "target": meaning if limit is None else f"ratio <= {limit:.2f} ({meaning})",
                "ours_median_s": statistics.median(mine), "peer_median_s": statistics.median(theirs),
                "ratio_median": statistics.median(mine) / statistics.median(theirs),
                "met": None if limit is None else ratio <= limit,
                "syncs_per_instance": per, "floor_s": floor,
            }
            if limit is not None and ratio > limit and floor / min(theirs) > limit:
                row["note"] = (f"floor {floor:.2f} s = storescp + {waits} x {serial * 1e3:.2f} ms of syncs "
                               f"(fdatasync {m['cost']['fdatasync'] * 1e3:.2f} ms, commit {m['cost']['commit'] * 1e3:.2f} ms "
                               f"x {per.get('commit', 1.0):.2f}/instance): ratio >= {floor / min(theirs):.2f} here")
            out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--associations", type=int, default=8)
    ap.add_argument("--per", type=int, default=100)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--database", choices=["sqlite", "postgresql", "mariadb"], default="sqlite")
    args = ap.parse_args()
    table = rows(args.rounds, count=args.count, associations=args.associations, per=args.per, size=args.size,
                 database=args.database)
    print(f"{args.size}x{args.size}x16 bit CT, index on {args.database}, {args.rounds} interleaved rounds, "
          f"load average {os.getloadavg()[0]:.1f}")
    print("| work | ours best s | peer | peer best s | ratio best | ours median s | peer median s | ratio median | target |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in table:
        met = "" if r["met"] is None else (" met" if r["met"] else " NOT met")
        print(f"| {r['work']} | {r['ours_s']:.2f} | {r['peer']} | {r['peer_s']:.2f} | {r['ratio']:.2f} | "
              f"{r['ours_median_s']:.2f} | {r['peer_median_s']:.2f} | {r['ratio_median']:.2f} | {r['target']}{met} |")
    for r in table:
        if r["peer"] == "Orthanc" and r["syncs_per_instance"]:
            per = ", ".join(f"{k} {v:.2f}" for k, v in r["syncs_per_instance"].items())
            print(f"{r['work']}: our syncs per instance: {per}")
        if "note" in r:
            print(f"{r['work']} vs {r['peer']}: {r['note']}")


if __name__ == "__main__":
    main()
