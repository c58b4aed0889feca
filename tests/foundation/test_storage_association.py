"""The lean storage association path: protocol edges, limits, and routing to pynetdicom."""

from __future__ import annotations

import socket
import struct
import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
from pynetdicom.presentation import build_context
from sqlalchemy import func, select

from publisher.demo import samples
from publisher.dicomio.part10 import meta_end
from publisher.db.models import Instance
from tests.support.tools import require_tool
from tests.support.net import wait_until
from tests.support.service import DCMTK_ENV, archive_files, running_service, settings_for, storescu


def _files(tmp: Path, count: int = 3, size: int = 64) -> list[Path]:
    spec = samples.StudySpec(samples.LATIN1_PATIENT, "lean", series=(samples.SeriesSpec("ct", count, 1, "", size, size),))
    return samples.write_study(spec, tmp / "in")


def _count(svc) -> int:  # type: ignore[no-untyped-def]
    with svc.db.session() as s:
        return int(s.scalar(select(func.count(Instance.id))) or 0)


def _associate(port: int, max_pdu: int = 16384) -> socket.socket:
    """A raw socket with an accepted association proposing CT in Explicit VR Little Endian."""
    rq = A_ASSOCIATE()
    rq.application_context_name = "1.2.840.10008.3.1.1.1"
    rq.calling_ae_title = "PYNETDICOM"
    rq.called_ae_title = "DISCPUB"
    cx = build_context(samples.CT_IMAGE, ["1.2.840.10008.1.2.1"])
    cx.context_id = 1
    rq.presentation_context_definition_list = [cx]
    ml = MaximumLengthNotification()
    ml.maximum_length_received = max_pdu
    rq.user_information = [ml]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(rq)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(pdu.encode())
    head = sock.recv(6)
    assert head[0] == 0x02, f"expected A-ASSOCIATE-AC, got PDU type {head[0]}"
    length = struct.unpack(">I", head[2:6])[0]
    while length:
        length -= len(sock.recv(length))
    return sock


def _command(sop_instance: str) -> bytes:
    def el(tag: int, value: bytes) -> bytes:
        return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value

    def ui(v: str) -> bytes:
        b = v.encode()
        return b + b"\0" if len(b) % 2 else b

    body = b"".join([
        el(0x00000002, ui(str(samples.CT_IMAGE))), el(0x00000100, struct.pack("<H", 1)),
        el(0x00000110, struct.pack("<H", 7)), el(0x00000700, struct.pack("<H", 0)),
        el(0x00000800, struct.pack("<H", 0)), el(0x00001000, ui(sop_instance)),
    ])
    return el(0x00000000, struct.pack("<I", len(body))) + body


def _pdata(control: int, payload: bytes) -> bytes:
    item = struct.pack(">IBB", len(payload) + 2, 1, control) + payload
    return struct.pack(">BBI", 0x04, 0, len(item)) + item


def _wait_closed(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionError, TimeoutError):
        pass
    return data


def test_peer_abort_mid_data_set_leaves_nothing(tmp_path: Path, sqlite_url: str) -> None:
    f = _files(tmp_path, 1, 128)[0]
    data = f.read_bytes()
    dataset = data[meta_end(data):]
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        sock = _associate(svc.settings.dicom.port)
        sock.sendall(_pdata(0x03, _command(str(dcmread(f).SOPInstanceUID))))
        sock.sendall(_pdata(0x00, dataset[:10000]))  # first half, not last
        wait_until("the first half in a partial file", lambda: any(".incoming" in p.parts for p in archive_files(svc.archive.root)))
        sock.sendall(struct.pack(">BBIBBBB", 0x07, 0, 4, 0, 0, 0, 0))  # A-ABORT
        _wait_closed(sock)
        wait_until("the partial file removed", lambda: archive_files(svc.archive.root) == [])
        assert _count(svc) == 0
        assert archive_files(svc.archive.root) == []


def test_oversize_pdu_is_aborted(tmp_path: Path, sqlite_url: str) -> None:
    with running_service(settings_for(tmp_path / "svc", sqlite_url, max_pdu_size=16384)) as svc:
        sock = _associate(svc.settings.dicom.port)
        sock.sendall(struct.pack(">BBI", 0x04, 0, 1_000_000))  # claims a 1 MB P-DATA-TF
        reply = _wait_closed(sock)
        assert reply[:1] == b"\x07", "expected an A-ABORT"
        assert _count(svc) == 0


def test_data_in_many_small_pdus_and_pdvs(tmp_path: Path, sqlite_url: str) -> None:
    """pynetdicom as sender, our maximum PDU 4 KiB: a data set in hundreds of PDVs."""
    files = _files(tmp_path, 2, 128)
    with running_service(settings_for(tmp_path / "svc", sqlite_url, max_pdu_size=4096)) as svc:
        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context(samples.CT_IMAGE, ["1.2.840.10008.1.2.1"])
        assoc = ae.associate("127.0.0.1", svc.settings.dicom.port, ae_title="DISCPUB")
        assert assoc.is_established
        for f in files:
            assert assoc.send_c_store(dcmread(f)).Status == 0
        assoc.release()
        assert _count(svc) == 2


def test_storage_with_query_contexts_goes_through_pynetdicom(tmp_path: Path, sqlite_url: str) -> None:
    files = _files(tmp_path, 1)
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context(samples.CT_IMAGE, ["1.2.840.10008.1.2.1"])
        ae.add_requested_context("1.2.840.10008.5.1.4.1.2.2.1")  # Study Root FIND
        assoc = ae.associate("127.0.0.1", svc.settings.dicom.port, ae_title="DISCPUB")
        assert assoc.is_established
        assert assoc.send_c_store(dcmread(files[0])).Status == 0
        assoc.release()
        assert _count(svc) == 1


@pytest.mark.parametrize("lean", [True, False])
def test_both_paths_store_the_same_bytes(tmp_path: Path, sqlite_url: str, lean: bool) -> None:
    require_tool("storescu")
    files = _files(tmp_path, 3)
    with running_service(settings_for(tmp_path / "svc", sqlite_url, lean_storage=lean)) as svc:
        assert storescu(svc.settings.dicom.port, files).returncode == 0
        stored = {p.stem: p for p in svc.archive.root.rglob("*.dcm")}
    for f in files:
        ours = stored[str(dcmread(f, stop_before_pixels=True).SOPInstanceUID)].read_bytes()
        src = f.read_bytes()
        assert ours[meta_end(ours):] == src[meta_end(src):]


def test_association_limit_on_the_lean_path(tmp_path: Path, sqlite_url: str) -> None:
    require_tool("echoscu")
    with running_service(settings_for(tmp_path / "svc", sqlite_url, max_associations=1)) as svc:
        port = svc.settings.dicom.port
        holder = _associate(port)  # occupies the only slot
        r = subprocess.run(["echoscu", "-aet", "ECHOSCU", "-aec", "DISCPUB", "127.0.0.1", str(port)],
                           capture_output=True, text=True, env=DCMTK_ENV)
        assert r.returncode != 0 and "Local Limit Exceeded" in r.stdout + r.stderr, r.stdout + r.stderr
        holder.sendall(struct.pack(">BBII", 0x05, 0, 4, 0))  # A-RELEASE-RQ
        assert _wait_closed(holder)[:1] == b"\x06"  # A-RELEASE-RP

        def echo_answered() -> bool:  # the released slot is free again once the server has closed it
            return subprocess.run(["echoscu", "-aet", "ECHOSCU", "-aec", "DISCPUB", "127.0.0.1", str(port)],
                                  capture_output=True, text=True, env=DCMTK_ENV).returncode == 0
        wait_until("a C-ECHO answered after the release", echo_answered, timeout=30, poll=0.1)
