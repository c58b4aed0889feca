"""An instance received in fragments (the lean C-STORE path) is filed exactly as the same bytes
given whole: same file, same index values, same refusals, whatever the fragment boundaries.

The header is parsed as soon as the elements before Pixel Data are in, and only the rest is
checked at the end (publisher.archive.parse.header_prefix / check_rest); these tests hold that
shortcut to the rules of the complete walk.
"""

from __future__ import annotations

import shutil
from io import BytesIO
from pathlib import Path

import pytest
from pydicom import Dataset
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
)

from publisher.demo import samples
from publisher.archive.file_meta import dataset_bytes
from publisher.archive.ingest import Archive, Outcome, Provenance, StoreRefused
from publisher.db import migrate
from publisher.db.session import Database
from tests.support.service import archive_files

TRANSFER_SYNTAXES = [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian, RLELossless]


def _encoded(tmp: Path, ts: str, kind: str = "ct") -> tuple[bytes, str, Dataset]:
    """One instance's data set bytes (no file meta) in ``ts``, and the data set."""
    spec = samples.StudySpec(samples.CYRILLIC_PATIENT, f"inc-{kind}", series=(samples.SeriesSpec(kind, 1, 1, "", 64, 64),))
    ds = samples.build_study(spec)[0]
    f = samples.as_file(ds)
    if ts == RLELossless:
        ds.compress(RLELossless, generate_instance_uid=False)
    else:
        f = samples.as_file(ds, ts)
    buf = BytesIO()
    f.save_as(buf, enforce_file_format=True)
    buf.seek(0)
    data, found = dataset_bytes(buf)
    assert found == ts
    return data, ts, ds


def _archive(tmp: Path) -> Archive:
    tmp.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite:///{tmp / 'index.db'}")
    migrate.upgrade(db.engine)
    return Archive(tmp / "archive", db)


def _receive(archive: Archive, data: bytes, ts: str, ds: Dataset, step: int, early: bool | None = None) -> Path:
    incoming = archive.begin(str(ds.SOPClassUID), str(ds.SOPInstanceUID), ts, Provenance("FRAGMENTS", "127.0.0.1"))
    for i in range(0, len(data), step):
        incoming.write(memoryview(bytearray(data[i : i + step])))  # a new buffer per PDU, as on the wire
    if early is not None:  # the header was (or, deflated, was not) read before the end
        assert (incoming.meta is not None) is early
    return incoming.finish().path


@pytest.mark.parametrize("ts", TRANSFER_SYNTAXES, ids=lambda t: t.name)
@pytest.mark.parametrize("step", [1, 7, 509, 1 << 20])
def test_fragments_file_the_same_bytes_and_values_as_the_whole(tmp_path: Path, ts: str, step: int) -> None:
    data, ts, ds = _encoded(tmp_path, ts)
    whole, parts = _archive(tmp_path / "whole"), _archive(tmp_path / "parts")
    stored = whole.store_encoded(data, ts, sop_class_uid=str(ds.SOPClassUID), sop_instance_uid=str(ds.SOPInstanceUID),
                                 provenance=Provenance("FRAGMENTS", "127.0.0.1"))
    path = _receive(parts, data, ts, ds, step, early=ts != DeflatedExplicitVRLittleEndian)
    assert path.read_bytes() == stored.path.read_bytes()
    assert path.read_bytes().endswith(data)
    with whole.db.engine.connect() as a, parts.db.engine.connect() as b:
        query = "SELECT sop_instance_uid, path, size, sha256, record_keys, transfer_syntax_uid FROM instance"
        assert list(a.exec_driver_sql(query)) == list(b.exec_driver_sql(query))
        names = "SELECT patient_name FROM patient"
        assert [r[0] for r in b.exec_driver_sql(names)] == ["Иванова^Мария"]


@pytest.mark.parametrize("ts", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, RLELossless], ids=lambda t: t.name)
def test_every_truncation_is_refused_and_leaves_nothing(tmp_path: Path, ts: str) -> None:
    data, ts, ds = _encoded(tmp_path, ts)
    archive = _archive(tmp_path)
    # Cut inside the header, inside Pixel Data's element header, inside pixel data (or an
    # encapsulated fragment), and one byte short. (A cut exactly before Pixel Data leaves a
    # well-formed data set without pixels: structure alone cannot tell, as for any receiver.)
    pixel = data.rfind(b"\xe0\x7f\x10\x00" if ts != ExplicitVRBigEndian else b"\x7f\xe0\x00\x10")
    assert pixel > 0
    for cut in sorted({101, pixel + 3, pixel + 10, pixel + 200, len(data) - 1}):
        for step in (64, 4096):
            with pytest.raises(StoreRefused) as refused:
                _receive(archive, data[:cut], ts, ds, step)
            assert 0xC000 <= refused.value.status <= 0xCFFF, (cut, step, refused.value.reason)
    assert archive_files(archive.root) == []
    with archive.db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM instance").scalar() == 0


def test_header_without_pixel_data_and_refusals_from_the_early_parse(tmp_path: Path) -> None:
    """A structured report (no Pixel Data) is parsed once complete; a data set that names
    another SOP Instance than its command is refused (0x0117) though its header came early."""
    spec = samples.StudySpec(samples.ASCII_PATIENT, "inc-sr", series=(samples.SeriesSpec("sr", 1, 1, "", 0, 0),))
    ds = samples.build_study(spec)[0]
    buf = BytesIO()
    samples.as_file(ds).save_as(buf, enforce_file_format=True)
    buf.seek(0)
    data, ts = dataset_bytes(buf)
    archive = _archive(tmp_path)
    assert _receive(archive, data, ts, ds, 97).read_bytes().endswith(data)
    ct, ts, ct_ds = _encoded(tmp_path, ExplicitVRLittleEndian)
    incoming = archive.begin(str(ct_ds.SOPClassUID), "1.2.3.4.5", ts, Provenance("FRAGMENTS"))
    for i in range(0, len(ct), 300):
        incoming.write(ct[i : i + 300])
    with pytest.raises(StoreRefused) as refused:
        incoming.finish()
    assert refused.value.status == 0x0117


def test_duplicate_received_in_fragments_keeps_the_first(tmp_path: Path) -> None:
    data, ts, ds = _encoded(tmp_path, ExplicitVRLittleEndian)
    archive = _archive(tmp_path)
    first = _receive(archive, data, ts, ds, 4096)
    before = first.read_bytes()
    incoming = archive.begin(str(ds.SOPClassUID), str(ds.SOPInstanceUID), ts, Provenance("AGAIN"))
    for i in range(0, len(data), 4096):
        incoming.write(data[i : i + 4096])
    stored = incoming.finish()
    assert stored.outcome is Outcome.KEPT_EXISTING
    assert first.read_bytes() == before
    assert [p.name for p in (archive.root / ".incoming").iterdir()] == []


def test_broken_header_is_refused_early_and_leaves_nothing(tmp_path: Path) -> None:
    """An invalid VR in the header is found when the header arrives; the rest is drained and
    the instance refused as the complete walk would (0xC000), with no file left."""
    data, ts, ds = _encoded(tmp_path, ExplicitVRLittleEndian)
    name = data.index(b"\x10\x00\x10\x00PN")  # (0010,0010) Patient's Name, VR PN
    broken = data[: name + 4] + b"p\x01" + data[name + 6 :]
    archive = _archive(tmp_path)
    incoming = archive.begin(str(ds.SOPClassUID), str(ds.SOPInstanceUID), ts, Provenance("BROKEN"))
    incoming.write(broken[:2048])
    assert incoming.refusal is not None and incoming.refusal.status == 0xC000
    incoming.write(broken[2048:])
    with pytest.raises(StoreRefused) as refused:
        incoming.finish()
    assert refused.value.status == 0xC000 and "invalid VR" in refused.value.reason
    assert archive_files(archive.root) == []


def test_series_folder_removed_behind_our_back_is_made_again(tmp_path: Path) -> None:
    """Known folders are not stat'ed per instance; one removed meanwhile (retention, a person)
    is created again when the rename finds it missing."""
    spec = samples.StudySpec(samples.ASCII_PATIENT, "inc-gone", series=(samples.SeriesSpec("ct", 2, 1, "", 32, 32),))
    first, second = samples.build_study(spec)
    archive = _archive(tmp_path)
    for ds in (first, second):
        buf = BytesIO()
        samples.as_file(ds).save_as(buf, enforce_file_format=True)
        buf.seek(0)
        data, ts = dataset_bytes(buf)
        path = _receive(archive, data, ts, ds, 4096)
        assert path.is_file()
        shutil.rmtree(path.parent)  # the series folder goes before the next instance arrives
    assert not path.exists()


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_index_connection_killed_between_instances(tmp_path: Path, backend: str) -> None:
    """The index keeps a few connections between instances; one the server killed (restart,
    idle timeout) is replaced and the instance still filed."""
    from contextlib import contextmanager

    from tests.support.databases import fresh_database

    with contextmanager(fresh_database)(backend) as url:
        db = Database(url)
        migrate.upgrade(db.engine)
        archive = Archive(tmp_path / "archive", db)
        spec = samples.StudySpec(samples.ASCII_PATIENT, "inc-kill", series=(samples.SeriesSpec("ct", 3, 1, "", 32, 32),))
        datasets = samples.build_study(spec)
        stored = 0
        for ds in datasets:
            buf = BytesIO()
            samples.as_file(ds).save_as(buf, enforce_file_format=True)
            buf.seek(0)
            data, ts = dataset_bytes(buf)
            with db.engine.connect() as admin:  # kill every other session of ours
                if backend == "postgresql":
                    admin.exec_driver_sql(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                else:
                    ids = [r[0] for r in admin.exec_driver_sql(
                        "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()")]
                    for i in ids:
                        admin.exec_driver_sql(f"KILL {int(i)}")
            assert _receive(archive, data, ts, ds, 4096).is_file()
            stored += 1
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM instance").scalar() == stored == 3
        archive.close()
        db.dispose()
