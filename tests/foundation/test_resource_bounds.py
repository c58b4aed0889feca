"""Bounded resources while an instance arrives: memory, disk, size.

An instance streams to disk and is never held whole in memory (the server's RSS, read from
/proc, grows by less than 64 MiB while 1 GiB of one instance arrives); free space is watched
while receiving (0xA700, the partial file removed at once); ``max_instance_bytes`` refuses a
larger instance with 0xA700 and a clear Error Comment. The data is streamed from a generator
over a raw socket (PS3.8 P-DATA-TF), never built in memory by the test either.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from sqlalchemy import create_engine, func, select

from publisher.demo import samples
from publisher.db.models import Instance
from tests.support.tools import unavailable
from tests.support import pdus
from tests.support.service import archive_files, settings_for, storescu

CHUNK = 128 * 1024


def _header(key: str) -> tuple[str, bytes]:
    """(SOP Instance UID, the encoded elements before Pixel Data) of a small CT."""
    spec = samples.StudySpec(samples.ASCII_PATIENT, key, series=(samples.SeriesSpec("ct", 1, 1, "", 16, 16),))
    ds = samples.build_study(spec)[0]
    del ds.PixelData
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, False
    write_dataset(buf, ds)
    return str(ds.SOPInstanceUID), buf.getvalue()


def _open_store(port: int) -> socket.socket:
    rq = pdus.associate_rq("STORESCU", contexts=((1, pdus.CT_IMAGE, (pdus.EXPLICIT_LE,)),))
    s, kind, ac = pdus.associate(port, rq)
    assert kind == 0x02 and pdus.accepted_contexts(ac)[1][0] == 0, ac
    return s


def _send_instance(s: socket.socket, key: str, pixel_bytes: int, announced: int | None = None,
                   last: bool = True, sent: list[int] | None = None) -> None:
    """C-STORE-RQ, then a data set whose Pixel Data (OW) announces ``announced`` bytes (default
    ``pixel_bytes``) of which ``pixel_bytes`` are sent, 128 KiB per PDU, from one buffer."""
    uid, head = _header(key)
    s.sendall(pdus.p_data(1, 0x03, pdus.c_store_rq(pdus.CT_IMAGE, uid)))
    length = pixel_bytes if announced is None else announced
    s.sendall(pdus.p_data(1, 0x00, head + struct.pack("<HH2s2xI", 0x7FE0, 0x0010, b"OW", length)))
    block = bytes(range(256)) * (CHUNK // 256)
    left = pixel_bytes
    while left > 0:
        n = min(CHUNK, left)
        left -= n
        s.sendall(pdus.p_data(1, 0x02 if (last and left == 0) else 0x00, block[:n]))
        if sent is not None:
            sent[0] += n


def _answer(s: socket.socket) -> tuple[int, bytes]:
    kind, pdu = pdus.read_pdu(s)
    assert kind == 0x04, pdu[:64]
    return pdus.status_of(pdu), pdu


@contextmanager
def _peak_rss(pid: int) -> Iterator[list[int]]:
    """Sample the server's RSS every 50 ms; the list holds [baseline, peak]."""
    out = [pdus.rss_bytes(pid), 0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            try:
                out[1] = max(out[1], pdus.rss_bytes(pid))
            except (OSError, AssertionError):
                return

    t = threading.Thread(target=sample)
    t.start()
    try:
        yield out
    finally:
        stop.set()
        t.join()


def _rows(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count(Instance.id))).scalar_one())
    finally:
        engine.dispose()


def test_a_never_ending_gigabyte_instance_streams_to_disk(tmp_path: Path, sqlite_url: str) -> None:
    """1 GiB of one C-STORE whose Pixel Data never ends: RSS grows by less than 64 MiB, the
    bytes are on disk (in .incoming), the partial file goes when the sender gives up, and the
    next association stores normally."""
    settings = settings_for(tmp_path / "svc", sqlite_url)
    root = settings.archive_root
    with pdus.server_process(settings, tmp_path) as pid:
        port = settings.dicom.port
        warm = storescu(port, samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, "warm", series=(
            samples.SeriesSpec("ct", 2, 1, "", 64, 64),)), tmp_path / "warm"))
        assert warm.returncode == 0, warm.stdout + warm.stderr
        s = _open_store(port)
        with _peak_rss(pid) as rss:
            _send_instance(s, "endless", 1 << 30, announced=0xFFFFFFF0, last=False)
            deadline = time.monotonic() + 300
            partial: list[Path] = []
            while time.monotonic() < deadline:  # the server may still be writing the last PDUs
                partial = [p for p in archive_files(root) if ".incoming" in p.parts]
                if partial and partial[0].stat().st_size >= 1 << 30:
                    break
                time.sleep(0.2)
        growth = rss[1] - rss[0]
        assert growth < 64 * 2**20, f"RSS grew by {growth / 2**20:.0f} MiB while 1 GiB arrived"
        assert len(partial) == 1 and partial[0].stat().st_size >= 1 << 30, "the bytes are not on disk"
        s.sendall(struct.pack(">BBIBBBB", 0x07, 0, 4, 0, 0, 0, 0))  # A-ABORT: the sender gives up
        s.close()
        deadline = time.monotonic() + 60
        while archive_files(root) and any(".incoming" in p.parts for p in archive_files(root)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in archive_files(root) if ".incoming" in p.parts], "partial file left behind"
        after = storescu(port, samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, "after", series=(
            samples.SeriesSpec("ct", 2, 1, "", 64, 64),)), tmp_path / "after"))
        assert after.returncode == 0, after.stdout + after.stderr
    assert _rows(sqlite_url) == 4


def test_an_instance_over_the_largest_size_is_refused_at_once(tmp_path: Path, sqlite_url: str) -> None:
    """max_instance_bytes = 4 MiB: the partial file goes as soon as the instance is larger,
    the rest is read and dropped, and the answer is 0xA700 with a comment naming the limit;
    the same association then stores a small instance."""
    settings = settings_for(tmp_path / "svc", sqlite_url, max_instance_bytes=4 * 2**20)
    root = settings.archive_root
    with pdus.server_process(settings, tmp_path):
        s = _open_store(settings.dicom.port)
        sent = [0]
        t = threading.Thread(target=_send_instance, args=(s, "huge", 40 * 2**20), kwargs={"sent": sent})
        t.start()
        seen_partial = False
        while t.is_alive():
            if sent[0] > 8 * 2**20:  # well past the limit, still sending
                partial = [p for p in archive_files(root) if ".incoming" in p.parts]
                seen_partial = seen_partial or bool(partial)
                if sent[0] > 20 * 2**20:
                    assert not partial, "the partial file of a refused instance is still there"
            time.sleep(0.01)
        t.join()
        status, pdu = _answer(s)
        assert status == 0xA700 and b"largest accepted" in pdu, pdu[-120:]
        _send_instance(s, "small", 16 * 16 * 2)
        status, _ = _answer(s)
        assert status == 0x0000
        s.sendall(pdus.RELEASE_RQ)
        assert pdus.read_pdu(s)[0] == 0x06
        s.close()
        assert not [p for p in archive_files(root) if ".incoming" in p.parts]
    assert _rows(sqlite_url) == 1


@contextmanager
def _small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if r.returncode:
        unavailable(f"cannot mount tmpfs: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def test_disk_full_while_receiving_answers_out_of_resources(tmp_path: Path, sqlite_url: str) -> None:
    """The archive on a 48 MiB tmpfs keeping 16 MiB in reserve: a 40 MiB instance crosses the
    reserve while arriving and is answered 0xA700, its partial file removed at once; with no
    reserve, the disk filling up (ENOSPC) is answered the same way; nothing is left behind and
    the next association stores normally."""
    with _small_tmpfs(tmp_path / "small", "48m") as mnt:
        for reserve, key in ((16 * 2**20, "reserve"), (0, "enospc")):
            settings = settings_for(tmp_path / key, sqlite_url.replace("index.db", f"{key}.db"), min_free_bytes=reserve)
            settings = replace(settings, archive_dir=mnt / key)
            root = settings.archive_root
            with pdus.server_process(settings, tmp_path / key):
                s = _open_store(settings.dicom.port)
                sent = [0]
                t = threading.Thread(target=_send_instance, args=(s, f"big-{key}", 60 * 2**20), kwargs={"sent": sent})
                t.start()
                lowest, late_partial = 1 << 62, False
                while t.is_alive():
                    st = os.statvfs(mnt)
                    lowest = min(lowest, st.f_bavail * st.f_frsize)
                    if sent[0] > 56 * 2**20:  # the disk (or its reserve) is long full by now
                        late_partial = late_partial or any(".incoming" in p.parts for p in archive_files(root))
                    time.sleep(0.005)
                t.join()
                assert not late_partial, "the partial file stayed while the rest of the instance arrived"
                if reserve:
                    assert lowest >= reserve - 8 * 2**20, f"free space fell to {lowest / 2**20:.0f} MiB while receiving"
                status, pdu = _answer(s)
                assert status == 0xA700, pdu[-120:]
                assert (b"reserve" if reserve else b"space") in pdu, pdu[-120:]
                s.sendall(pdus.RELEASE_RQ)
                s.close()
                assert archive_files(root) == [], "something was left behind"
                after = storescu(settings.dicom.port, samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, f"ok-{key}",
                                 series=(samples.SeriesSpec("ct", 2, 1, "", 64, 64),)), tmp_path / f"ok-{key}"))
                assert after.returncode == 0, after.stdout + after.stderr
            assert _rows(sqlite_url.replace("index.db", f"{key}.db")) == 2
