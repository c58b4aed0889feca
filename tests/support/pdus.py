"""Raw DICOM upper-layer PDUs for attack and fuzz tests, built by hand from PS3.8 9.3 (not with
the code under test), and a server in a process of its own to measure from /proc."""

from __future__ import annotations

import os
import pickle
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

from publisher.config import Settings
from publisher.demo import samples

APPLICATION_CONTEXT = b"1.2.840.10008.3.1.1.1"
VERIFICATION = "1.2.840.10008.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"


def _item(kind: int, value: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(value)) + value


def _ae(title: str) -> bytes:
    return title.encode("ascii").ljust(16)[:16]


def associate_rq(calling: str = "STORESCU", called: str = "DISCPUB",
                 contexts: Sequence[tuple[int, str | None, Sequence[str]]] = ((1, VERIFICATION, (IMPLICIT_LE,)),),
                 max_pdu: int = 16384) -> bytes:
    """A-ASSOCIATE-RQ (PS3.8 9.3.2): contexts are (id, abstract syntax, transfer syntaxes); an
    abstract syntax of None leaves that context's Abstract Syntax sub-item out (malformed)."""
    body = struct.pack(">HH", 1, 0) + _ae(called) + _ae(calling) + b"\0" * 32
    body += _item(0x10, APPLICATION_CONTEXT)
    for pcid, abstract, syntaxes in contexts:
        sub = (b"" if abstract is None else _item(0x30, abstract.encode())) + b"".join(_item(0x40, ts.encode()) for ts in syntaxes)
        body += _item(0x20, struct.pack(">BBBB", pcid, 0, 0, 0) + sub)
    user = _item(0x51, struct.pack(">I", max_pdu)) + _item(0x52, b"1.2.826.0.1.3680043.9.7433.1")
    body += _item(0x50, user)
    return struct.pack(">BBI", 0x01, 0, len(body)) + body


def accepted_contexts(ac: bytes) -> dict[int, tuple[int, str]]:
    """{context id: (result, transfer syntax)} of an A-ASSOCIATE-AC (PS3.8 9.3.3.2)."""
    out: dict[int, tuple[int, str]] = {}
    pos = 6 + 68
    while pos + 4 <= len(ac):
        kind, _, length = struct.unpack_from(">BBH", ac, pos)
        if kind == 0x21:
            pcid, _, result, _ = struct.unpack_from(">BBBB", ac, pos + 4)
            ts = ""
            if length > 4 + 4:
                _k, _r, tl = struct.unpack_from(">BBH", ac, pos + 8)
                ts = ac[pos + 12 : pos + 12 + tl].decode("ascii", "replace").rstrip("\0")
            out[pcid] = (result, ts)
        pos += 4 + length
    return out


def element(tag: int, value: bytes) -> bytes:
    """Implicit VR little endian (command sets, PS3.7 6.3.1)."""
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def command(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return element(0x00000000, struct.pack("<I", len(body))) + body


def uid_value(uid: str | bytes) -> bytes:
    raw = uid.encode("ascii") if isinstance(uid, str) else uid
    return raw + b"\0" if len(raw) % 2 else raw


def c_echo_rq(message_id: int = 1) -> bytes:
    return command(element(0x00000002, uid_value(VERIFICATION)), element(0x00000100, struct.pack("<H", 0x0030)),
                   element(0x00000110, struct.pack("<H", message_id)), element(0x00000800, struct.pack("<H", 0x0101)))


def c_store_rq(sop_class: str, sop_instance: str | bytes, message_id: int = 1) -> bytes:
    return command(element(0x00000002, uid_value(sop_class)), element(0x00000100, struct.pack("<H", 0x0001)),
                   element(0x00000110, struct.pack("<H", message_id)), element(0x00000700, struct.pack("<H", 0)),
                   element(0x00000800, struct.pack("<H", 0x0000)), element(0x00001000, uid_value(sop_instance)))


def p_data(pcid: int, control: int, payload: bytes) -> bytes:
    """One P-DATA-TF with one PDV (control: bit 0 command, bit 1 last fragment; PS3.8 E.2)."""
    item = struct.pack(">IBB", len(payload) + 2, pcid, control) + payload
    return struct.pack(">BBI", 0x04, 0, len(item)) + item


RELEASE_RQ = struct.pack(">BBII", 0x05, 0, 4, 0)


def read_pdu(sock: socket.socket) -> tuple[int, bytes]:
    """(PDU type, whole PDU) of the next PDU; (0, b"") when the peer closed."""
    head = _read(sock, 6)
    if len(head) < 6:
        return 0, b""
    length = struct.unpack_from(">I", head, 2)[0]
    return head[0], head + _read(sock, length)


def _read(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def status_of(pdu: bytes) -> int:
    """The Status (0000,0900) of the command set in a P-DATA-TF (one PDV)."""
    data = pdu[12:]
    pos = 0
    while pos + 8 <= len(data):
        group, elem, length = struct.unpack_from("<HHI", data, pos)
        if (group, elem) == (0, 0x0900):
            return int(struct.unpack_from("<H", data, pos + 8)[0])
        pos += 8 + length
    raise AssertionError("no status in the response")


def connect(port: int, source: str = "127.0.0.1", timeout: float = 30.0) -> socket.socket:
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def associate(port: int, rq: bytes, source: str = "127.0.0.1") -> tuple[socket.socket, int, bytes]:
    """Connect, send ``rq``, and return (socket, PDU type of the answer, the answer)."""
    s = connect(port, source)
    s.sendall(rq)
    kind, pdu = read_pdu(s)
    return s, kind, pdu


# -- the server in a process of its own ------------------------------------------------------------


@contextmanager
def server_process(settings: Settings, tmp: Path) -> Iterator[int]:
    """``publisher`` serving DICOM only (no web, no worker) for ``settings`` in a child process,
    whose pid is yielded: what /proc says of it is the server alone."""
    tmp.mkdir(parents=True, exist_ok=True)
    blob = tmp / "settings.pickle"
    blob.write_bytes(pickle.dumps(settings))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    log = open(tmp / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.pdus", str(blob)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=log, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"server did not start: {(tmp / 'server.log').read_text(errors='replace')[-2000:]}")
        yield proc.pid
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def thread_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def socket_count(pid: int) -> int:
    """Open sockets of the process (its listening socket included), from /proc/<pid>/fd."""
    out = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass  # closed meanwhile
    return out


def _serve(blob: str) -> None:
    import logging

    from publisher.service import Service

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    import threading

    def died(args: threading.ExceptHookArgs) -> None:  # one log line per dead thread, not interleaved stderr
        name = args.thread.name if args.thread is not None else "?"
        logging.getLogger("thread").error("THREAD-DIED [%s] %s: %s", name, args.exc_type.__name__, args.exc_value)

    threading.excepthook = died
    settings = pickle.loads(Path(blob).read_bytes())
    service = Service(settings)
    service.prepare()
    service.start_dicom()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        sys.stdin.read()  # until the test closes our stdin
    finally:
        service.stop()


if __name__ == "__main__":
    _serve(sys.argv[1])


def ct_dataset(key: str) -> tuple[str, bytes]:
    ds = samples.build_study(samples.StudySpec(samples.ASCII_PATIENT, key, series=(samples.SeriesSpec("ct", 1, 1, "", 8, 8),)))[0]
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, False
    write_dataset(buf, ds)
    return str(ds.SOPInstanceUID), buf.getvalue()

