"""Association set-up that cannot be starved (PS3.8 9.1.5 ARTIM, 9.3.4 A-ASSOCIATE-RJ).

Connections that never finish their A-ASSOCIATE-RQ must not take association slots nor CPU;
a refusal is always an A-ASSOCIATE-RJ the caller can read, never a TCP reset. The server runs in
a process of its own so that its CPU time is read from /proc; the callers are DCMTK's echoscu
and storescu (real peers) and raw sockets (the attacker).
"""

from __future__ import annotations

import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from publisher.demo import samples
from tests.support.peers import DCMTK_ENV
from tests.support.tools import require_tool
from tests.support import pdus
from tests.support.net import poll, wait_until
from tests.support.service import settings_for, storescu

#: Attack connections come from 127.0.0.2 ... (Linux answers on all of 127/8); the real
#: callers from 127.0.0.1, as a modality's address differs from an attacker's.
ATTACK_HOSTS = [f"127.0.0.{n}" for n in range(2, 12)]


def _echo(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["echoscu", "-aet", "ECHOSCU", "-aec", "DISCPUB", "127.0.0.1", str(port)],
                          capture_output=True, text=True, env=DCMTK_ENV, timeout=120)


def _attack(port: int, silent: int, partial: int) -> list[socket.socket]:
    """``silent`` connections that send nothing and ``partial`` ones that send the first 10
    bytes of an A-ASSOCIATE-RQ, spread over ATTACK_HOSTS."""
    rq = pdus.associate_rq()
    out = []
    for i in range(silent + partial):
        s = pdus.connect(port, ATTACK_HOSTS[i % len(ATTACK_HOSTS)])
        if i >= silent:
            s.sendall(rq[:10])
        out.append(s)
    return out


def _closed_by_server(s: socket.socket) -> bool:
    """Whether the server closed ``s`` (EOF; a reset counts too: the attacker's own data)."""
    try:
        s.settimeout(60)
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_silent_and_partial_connections_do_not_starve_real_callers(tmp_path: Path, sqlite_url: str) -> None:
    """40 silent and 40 partial connections held past the ACSE timeout and the request
    deadline: every C-ECHO and C-STORE of a real caller meanwhile succeeds, the server spends
    under 10 % of a core on them, and it closes each of them once its deadline passed."""
    require_tool("echoscu", "storescu")
    files = samples.write_study(samples.StudySpec(samples.ASCII_PATIENT, "setup", series=(samples.SeriesSpec("ct", 3, 1, "", 16, 16),)),
                                tmp_path / "in")
    settings = settings_for(tmp_path / "svc", sqlite_url, max_associations=4, acse_timeout=2, request_timeout=8,
                            max_pending_per_address=16)
    with pdus.server_process(settings, tmp_path) as pid:
        port = settings.dicom.port
        base = pdus.socket_count(pid)
        attackers = _attack(port, 40, 40)
        try:
            # Until the server holds them all; under load it may already close the partial ones
            # (their 2 s ACSE timeout) before it has accepted the last: then go on.
            poll(lambda: pdus.socket_count(pid) >= base + len(attackers), timeout=5)
            cpu0, t0 = pdus.cpu_seconds(pid), time.monotonic()
            time.sleep(3.0)
            used, elapsed = pdus.cpu_seconds(pid) - cpu0, time.monotonic() - t0
            assert used < 0.10 * elapsed, f"{used:.2f} s of CPU in {elapsed:.1f} s for 80 waiting connections"
            time.sleep(1.0)  # past the ACSE timeout (2 s) of every attack connection
            results = []
            for _round in range(3):
                results.append(_echo(port))
                results.append(storescu(port, files))
            for r in results:
                assert r.returncode == 0, r.stdout + r.stderr
            closed = [_closed_by_server(s) for s in attackers]
            assert all(closed), f"{closed.count(False)} attack connections still open after the request deadline"
        finally:
            for s in attackers:
                s.close()


def test_pending_connections_per_address_are_capped_with_a_reject(tmp_path: Path, sqlite_url: str) -> None:
    """Past max_pending_per_address silent connections from one address, the next one from it
    is answered A-ASSOCIATE-RJ (transient, temporary congestion) at once; other addresses are
    served as before."""
    require_tool("echoscu")
    settings = settings_for(tmp_path / "svc", sqlite_url, max_pending_per_address=4, request_timeout=30)
    with pdus.server_process(settings, tmp_path) as pid:
        port = settings.dicom.port
        base = pdus.socket_count(pid)
        held = [pdus.connect(port, "127.0.0.2") for _ in range(4)]
        try:
            wait_until("the four connections accepted", lambda: pdus.socket_count(pid) >= base + 4)
            extra = pdus.connect(port, "127.0.0.2")
            kind, pdu = pdus.read_pdu(extra)
            assert kind == 0x03 and pdu[7:10] == bytes([2, 3, 1]), pdu
            assert extra.recv(1) == b""  # then an orderly close
            extra.close()
            s, kind, pdu = pdus.associate(port, pdus.associate_rq("ECHOSCU"), source="127.0.0.3")
            assert kind == 0x02, pdu
            s.close()
            r = _echo(port)
            assert r.returncode == 0, r.stdout + r.stderr
        finally:
            for s in held:
                s.close()


def test_over_max_associations_is_always_a_readable_reject(tmp_path: Path, sqlite_url: str) -> None:
    """With every slot taken (by storage associations, served by the lean path), 30 callers
    in a burst, half of them for storage (lean path) and half for C-FIND (pynetdicom), each read
    A-ASSOCIATE-RJ (transient, local limit exceeded) followed by an orderly close, never a
    reset; DCMTK's echoscu and findscu report the same reason."""
    require_tool("echoscu", "findscu")
    storage = pdus.associate_rq("STORESCU", contexts=((1, pdus.CT_IMAGE, (pdus.EXPLICIT_LE,)),))
    query = pdus.associate_rq("STORESCU", contexts=((1, pdus.STUDY_FIND, (pdus.EXPLICIT_LE,)),))
    settings = settings_for(tmp_path / "svc", sqlite_url, max_associations=2, max_pending_per_address=64)  # one address's burst
    with pdus.server_process(settings, tmp_path):
        port = settings.dicom.port
        held = []
        for _ in range(2):
            s, kind, pdu = pdus.associate(port, storage)
            assert kind == 0x02, pdu
            held.append(s)
        answers: list[object] = []

        def caller(rq: bytes) -> None:
            try:
                s, kind, pdu = pdus.associate(port, rq)
                after = s.recv(1)
                s.close()
                answers.append((kind, pdu[7:10], after))
            except OSError as exc:
                answers.append(exc)

        threads = [threading.Thread(target=caller, args=(storage if i % 2 else query,)) for i in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        peers = [_echo(port), subprocess.run(["findscu", "-S", "-k", "QueryRetrieveLevel=STUDY", "-aet", "STORESCU", "-aec",
                                              "DISCPUB", "127.0.0.1", str(port)], capture_output=True, text=True, env=DCMTK_ENV)]
        for s in held:
            s.close()
    assert answers == [(0x03, bytes([2, 3, 2]), b"")] * 30, answers
    for r in peers:
        assert r.returncode != 0 and "Local Limit Exceeded" in r.stdout + r.stderr, r.stdout + r.stderr


def test_a_request_too_large_is_rejected(tmp_path: Path, sqlite_url: str) -> None:
    """An A-ASSOCIATE-RQ announcing more than 256 KiB is refused (permanent, no reason given)."""
    settings = settings_for(tmp_path / "svc", sqlite_url)
    with pdus.server_process(settings, tmp_path):
        s = pdus.connect(settings.dicom.port)
        s.sendall(struct.pack(">BBI", 0x01, 0, 50_000_000) + b"\0" * 1000)
        kind, pdu = pdus.read_pdu(s)
        assert kind == 0x03 and pdu[7:10] == bytes([1, 2, 1]), pdu
        s.close()
