"""Group commit really groups: instances arriving at once share folder fsyncs and commits.

Counted by the archive itself (``publisher.archive.durable.COUNTS``, every fdatasync, fsync and
row commit it makes), first on :class:`Group` alone with a batch held open, then with eight DCMTK
storescu associations sending one series at once, on every backend: fewer commits and folder
syncs than instances, one fdatasync and one row per instance, every row naming its whole file.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from publisher.archive.durable import COUNTS, sha256_file
from publisher.archive.group_commit import Group
from publisher.db.models import Instance
from publisher.demo import samples
from tests.support.tools import require_tool
from tests.support.service import DCMTK_ENV, running_service, settings_for

ASSOCIATIONS = 8
PER_ASSOCIATION = 30


def test_callers_arriving_during_a_run_share_the_next() -> None:
    """While one batch runs, everything submitted meanwhile goes into a single next batch, and
    every caller gets its own item's result."""
    release = threading.Event()
    batches: list[list[int]] = []

    def work(items: list[int]) -> list[int]:
        batches.append(items)
        if len(batches) == 1:
            release.wait(timeout=60)
        return [i * 10 for i in items]

    group: Group[int, int] = Group(work)
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(group.submit, 0)
        _poll(lambda: bool(batches))  # the first caller leads at once, alone
        others = [pool.submit(group.submit, i) for i in range(1, 8)]
        _poll(lambda: group.queued == 7)  # all seven wait behind the running batch
        release.set()
        assert first.result() == 0
        assert [f.result() for f in others] == [i * 10 for i in range(1, 8)]
    assert batches == [[0], list(range(1, 8))]


def test_an_error_reaches_every_caller_of_its_batch() -> None:
    def work(items: list[int]) -> list[int]:
        raise OSError(5, "flush failed")

    group: Group[int, int] = Group(work)
    with pytest.raises(OSError) as exc:
        group.submit(1)
    assert exc.value.errno == 5


def _poll(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.001)


def test_eight_associations_share_commits_and_folder_syncs(tmp_path: Path, db_url: str) -> None:
    require_tool("storescu")
    spec = samples.StudySpec(samples.ASCII_PATIENT, "group", "Grouped",
                             series=(samples.SeriesSpec("ct", ASSOCIATIONS * PER_ASSOCIATION, 1, "one series", 32, 32),))
    files = samples.write_study(spec, tmp_path / "in")
    total = len(files)
    settings = settings_for(tmp_path / "svc", db_url, max_associations=ASSOCIATIONS + 2)
    with running_service(settings) as svc:
        before = COUNTS.snapshot()
        procs = [
            subprocess.Popen(["storescu", "-aet", "STORESCU", "-aec", "DISCPUB", "127.0.0.1", str(settings.dicom.port),
                              *map(str, files[k::ASSOCIATIONS])],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=DCMTK_ENV)
            for k in range(ASSOCIATIONS)
        ]
        outputs = [p.communicate(timeout=600)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs
        after = COUNTS.snapshot()
        with svc.db.session() as s:
            rows = s.execute(select(Instance.path, Instance.sha256)).all()
        root = svc.archive.root
    made = {k: after[k] - before[k] for k in after}
    assert len(rows) == total and made["rows"] == total
    assert all(sha256_file(root / path) == sha for path, sha in rows)
    assert made["file"] == total, made  # every file flushed, once
    assert made["commit"] < total, f"no two rows were committed together: {made}"
    # One series folder: a folder fsync serves the instances linked while the previous one ran
    # (plus the few fsyncs of folders created on the way).
    assert made["folder"] < total, f"no two instances shared a folder fsync: {made}"
