"""Bad input and exhausted resources: a failure status, and nothing half-written left behind."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydicom import dcmread
from pynetdicom import AE, _config
from sqlalchemy import func, select

from publisher.demo import samples
from publisher.archive.ingest import Archive, StoreRefused
from publisher.db import migrate
from publisher.db.models import Instance
from publisher.db.session import Database
from tests.support.tools import unavailable
from tests.support.service import archive_files, running_service, settings_for


def _one(tmp: Path, key: str = "bad", kind: str = "ct") -> Path:
    spec = samples.StudySpec(samples.ASCII_PATIENT, key, series=(samples.SeriesSpec(kind, 1, 1, "", 32, 32),))
    return samples.write_study(spec, tmp / key)[0]


@contextmanager
def _raw_sender() -> Iterator[None]:
    """Send files' dataset bytes as they are on disk, without pynetdicom re-encoding them."""
    old = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True
    try:
        yield
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = old


def _send(port: int, path: Path, contexts: list[str]) -> int:
    ae = AE(ae_title="PYNETDICOM")
    for c in contexts:
        ae.add_requested_context(c, ["1.2.840.10008.1.2.1"])
    assoc = ae.associate("127.0.0.1", port, ae_title="DISCPUB")
    assert assoc.is_established
    with _raw_sender():
        status = assoc.send_c_store(path)
    assoc.release()
    return int(status.Status)


def _archive_files(root: Path) -> list[Path]:
    return archive_files(root)


def _assert_nothing_stored(svc) -> None:  # type: ignore[no-untyped-def]
    with svc.db.session() as s:
        assert s.scalar(select(func.count(Instance.id))) == 0
    assert _archive_files(svc.archive.root) == []


def test_truncated_dataset_fails_and_leaves_nothing(tmp_path: Path, sqlite_url: str) -> None:
    good = _one(tmp_path)
    bad = tmp_path / "truncated.dcm"
    bad.write_bytes(good.read_bytes()[:-1001])
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        status = _send(svc.settings.dicom.port, bad, [str(samples.CT_IMAGE)])
        assert 0xC000 <= status <= 0xCFFF
        _assert_nothing_stored(svc)


def test_missing_sop_instance_uid_fails(tmp_path: Path, sqlite_url: str) -> None:
    ds = dcmread(_one(tmp_path))
    del ds.SOPInstanceUID
    bad = tmp_path / "nouid.dcm"
    ds.save_as(bad)  # file meta still names the instance, the dataset does not
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        status = _send(svc.settings.dicom.port, bad, [str(samples.CT_IMAGE)])
        assert 0xC000 <= status <= 0xCFFF
        _assert_nothing_stored(svc)


def test_missing_study_uid_fails(tmp_path: Path, sqlite_url: str) -> None:
    ds = dcmread(_one(tmp_path))
    del ds.StudyInstanceUID
    bad = tmp_path / "nostudy.dcm"
    ds.save_as(bad)
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        assert 0xC000 <= _send(svc.settings.dicom.port, bad, [str(samples.CT_IMAGE)]) <= 0xCFFF
        _assert_nothing_stored(svc)


def test_dataset_of_another_sop_class_than_its_context_fails(tmp_path: Path, sqlite_url: str) -> None:
    ds = dcmread(_one(tmp_path))
    ds.file_meta.MediaStorageSOPClassUID = samples.MR_IMAGE  # sent under an MR context, dataset says CT
    bad = tmp_path / "wrongclass.dcm"
    ds.save_as(bad)
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        status = _send(svc.settings.dicom.port, bad, [str(samples.MR_IMAGE), str(samples.CT_IMAGE)])
        assert 0xA900 <= status <= 0xA9FF
        _assert_nothing_stored(svc)


def test_good_instance_after_bad_ones_on_same_server(tmp_path: Path, sqlite_url: str) -> None:
    good = _one(tmp_path)
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        assert _send(svc.settings.dicom.port, good, [str(samples.CT_IMAGE)]) == 0
        with svc.db.session() as s:
            assert s.scalar(select(func.count(Instance.id))) == 1


def _archive(tmp: Path, url: str, policy: str, root: Path | None = None) -> Archive:
    db = Database(url)
    migrate.upgrade(db.engine)
    return Archive(root or tmp / "archive", db, duplicate_policy=policy)  # type: ignore[arg-type]


def _changed_copy(path: Path, tmp: Path) -> Path:
    ds = dcmread(path)
    ds.SeriesDescription = "second version"
    out = tmp / "v2.dcm"
    ds.save_as(out)
    return out


@pytest.mark.parametrize("policy,outcome,description", [
    ("keep-first", "kept-existing", "CT series"),
    ("replace", "replaced", "second version"),
])
def test_duplicate_policies(tmp_path: Path, sqlite_url: str, policy: str, outcome: str, description: str) -> None:
    archive = _archive(tmp_path, sqlite_url, policy)
    first = _one(tmp_path)
    stored = archive.store_file(first)
    second = archive.store_file(_changed_copy(first, tmp_path))
    assert second.outcome == outcome
    assert dcmread(stored.path).SeriesDescription == description
    with archive.db.session() as s:
        assert s.scalar(select(func.count(Instance.id))) == 1
        row = s.scalar(select(Instance))
        assert row is not None
        from publisher.archive.durable import sha256_file
        assert sha256_file(archive.root / row.path) == row.sha256


def test_duplicate_reject_policy(tmp_path: Path, sqlite_url: str) -> None:
    archive = _archive(tmp_path, sqlite_url, "reject")
    first = _one(tmp_path)
    archive.store_file(first)
    with pytest.raises(StoreRefused) as exc:
        archive.store_file(_changed_copy(first, tmp_path))
    assert exc.value.status == 0x0111
    assert dcmread(archive.root / next(iter(archive.root.rglob("*.dcm")))).SeriesDescription == "CT series"


def test_disk_full_answers_out_of_resources_and_keeps_what_was_stored(tmp_path: Path, sqlite_url: str) -> None:
    """A real ENOSPC: the archive on a 1 MiB tmpfs (needs root to mount, as in CI)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode:
        unavailable(f"cannot mount tmpfs: {r.stderr.strip()}")
    try:
        archive = _archive(tmp_path, sqlite_url, "keep-first", root=mnt / "archive")
        spec = samples.StudySpec(samples.ASCII_PATIENT, "big", series=(samples.SeriesSpec("ct", 8, 1, "", 256, 256),))
        paths = samples.write_study(spec, tmp_path / "in")  # 8 x 128 KiB > what is left of 1 MiB
        stored, refused = [], []
        for p in paths:
            try:
                stored.append(archive.store_file(p))
            except StoreRefused as exc:
                refused.append(exc)
        assert stored and refused
        assert all(e.status == 0xA700 for e in refused)
        assert "space" in refused[0].reason
        with archive.db.session() as s:
            rows = s.scalars(select(Instance)).all()
        assert len(rows) == len(stored)
        files = archive_files(archive.root)
        assert len(files) == len(stored)  # no partial file left in .incoming or elsewhere
        from publisher.archive.durable import sha256_file
        assert all(sha256_file(archive.root / r.path) == r.sha256 for r in rows)
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_disk_reserve_refuses_before_the_disk_is_full(tmp_path: Path, sqlite_url: str) -> None:
    db = Database(sqlite_url)
    migrate.upgrade(db.engine)
    archive = Archive(tmp_path / "archive", db, min_free_bytes=2**62)
    with pytest.raises(StoreRefused) as exc:
        archive.store_file(_one(tmp_path))
    assert exc.value.status == 0xA700 and "reserve" in exc.value.reason


def test_same_instance_stored_concurrently_gives_one_row(tmp_path: Path, db_url: str) -> None:
    """Two associations racing with one SOP Instance UID: both answered, one row, one file."""
    from concurrent.futures import ThreadPoolExecutor

    archive = _archive(tmp_path, db_url, "keep-first")
    path = _one(tmp_path)
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(lambda _: archive.store_file(path).outcome, range(12)))
    assert set(outcomes) <= {"stored", "replaced", "kept-existing"}
    with archive.db.session() as s:
        assert s.scalar(select(func.count(Instance.id))) == 1
    assert len(list(archive.root.rglob("*.dcm"))) == 1
    archive.db.dispose()
