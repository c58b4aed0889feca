"""Third-party peers for Query/Retrieve tests: DCMTK storescp / movescu / getscu, started per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port
from tests.support.tools import require_tool

#: storescp configuration: a destination accepting only Explicit VR Little Endian, and only
#: the SOP classes named in the profile (so others fail their C-STORE sub-operation).
_STORESCP_CFG = """\
[[TransferSyntaxes]]
[ExplicitLittle]
TransferSyntax1 = LittleEndianExplicit
[Echo]
TransferSyntax1 = LittleEndianImplicit
TransferSyntax2 = LittleEndianExplicit

[[PresentationContexts]]
[Images]
PresentationContext1 = VerificationSOPClass\\Echo
PresentationContext2 = CTImageStorage\\ExplicitLittle
PresentationContext3 = MRImageStorage\\ExplicitLittle
PresentationContext4 = ComputedRadiographyImageStorage\\ExplicitLittle

[[Profiles]]
[ExplicitImagesOnly]
PresentationContexts = Images
"""


@contextmanager
def storescp_explicit_images_only(out: Path, ae_title: str = "EXPLICIT") -> Iterator[int]:
    """DCMTK storescp accepting CT, MR and CR images in Explicit VR Little Endian only."""
    cfg = out.parent / f"{ae_title}.cfg"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(_STORESCP_CFG)
    with storescp(out, ae_title, "-xf", str(cfg), "ExplicitImagesOnly") as port:
        yield port


def movescu(port: int, model: str, keys: Sequence[str], dest: str, *extra: str, aec: str = "DISCPUB") -> subprocess.CompletedProcess[str]:
    cmd = ["movescu", "-v", "-aet", "MOVESCU", "-aec", aec, "-aem", dest, f"-{model}", *extra]
    for k in keys:
        cmd += ["-k", k]
    return subprocess.run([*cmd, "127.0.0.1", str(port)], capture_output=True, text=True, env=DCMTK_ENV, timeout=120)


def getscu(port: int, model: str, keys: Sequence[str], out: Path, *extra: str, aec: str = "DISCPUB") -> subprocess.CompletedProcess[str]:
    out.mkdir(parents=True, exist_ok=True)
    cmd = ["getscu", "-v", "-aet", "GETSCU", "-aec", aec, f"-{model}", "-od", str(out), *extra]
    for k in keys:
        cmd += ["-k", k]
    return subprocess.run([*cmd, "127.0.0.1", str(port)], capture_output=True, text=True, env=DCMTK_ENV, timeout=120)


@contextmanager
def orthanc(work: Path, our_ae: str, our_port: int, ae_title: str = "ORTHANC",
            plugins: Sequence[str] = (), extra: dict[str, object] | None = None) -> Iterator[tuple[int, int]]:
    """Orthanc on loopback with its own configuration; yields (DICOM port, HTTP port).

    ``DicomModalities`` names our AE so Orthanc can C-MOVE to us; TCP_NODELAY=1 in its
    environment (docs/architecture.md, section 4); ``plugins``: shared libraries it loads
    (e.g. :data:`ORTHANC_DICOMWEB`, serving ``/dicom-web/``); ``extra``: more configuration keys."""
    import json

    exe = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
    port, http = free_port(), free_port()
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "orthanc.json"
    cfg.write_text(json.dumps({
        "Name": "qrtest", "DicomAet": ae_title, "DicomPort": port, "HttpPort": http,
        "StorageDirectory": str(work / "storage"), "IndexDirectory": str(work / "index"),
        "DicomCheckCalledAet": False, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        "Plugins": list(plugins), "StorageCompression": False, "DicomAlwaysAllowStore": True,
        "DicomModalities": {"discpub": [our_ae, "127.0.0.1", our_port]},
        "DicomScuTimeout": 10, "DicomAssociationCloseDelay": 0, **(extra or {}),
    }))
    log = open(work / "orthanc.log", "wb")
    proc = subprocess.Popen([exe, str(cfg)], env=DCMTK_ENV, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_echo(port, ae_title)
        yield port, http
    finally:
        proc.terminate()
        proc.wait()
        log.close()


#: Orthanc's DICOMweb plugin (Debian orthanc-dicomweb).
ORTHANC_DICOMWEB = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def orthanc_upload(http: int, files: Sequence[Path]) -> None:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{http}", timeout=30) as client:
        for f in files:
            client.post("/instances", content=f.read_bytes()).raise_for_status()


@contextmanager
def dcmqrscp(work: Path, our_ae: str, our_port: int, ae_title: str = "DCMQR") -> Iterator[int]:
    """DCMTK dcmqrscp with one read-write storage area and our AE as a move destination.

    Forking mode: DCMTK 3.6.7's --single-process crashes after the first association."""
    port = free_port()
    area = work / "db"
    area.mkdir(parents=True, exist_ok=True)
    cfg = work / "dcmqrscp.cfg"
    cfg.write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 65536\nMaxAssociations = 16\n"
        f"HostTable BEGIN\ndiscpub = ({our_ae}, localhost, {our_port})\nHostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{ae_title} {area} RW (100, 1024mb) ANY\nAETable END\n"
    )
    log = open(work / "dcmqrscp.log", "wb")
    proc = subprocess.Popen(["dcmqrscp", "-v", "-c", str(cfg), str(port)], env=DCMTK_ENV, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_echo(port, ae_title)
        yield port
    finally:
        proc.terminate()
        proc.wait()
        log.close()


def storescu(port: int, aec: str, files: Sequence[Path]) -> None:
    proc = subprocess.run(["storescu", "-R", "-aet", "STORESCU", "-aec", aec, "127.0.0.1", str(port), *map(str, files)],
                          capture_output=True, text=True, env=DCMTK_ENV, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


#: DCMTK tools (and Orthanc, which embeds DCMTK) wait ~40 ms per message on loopback without it.
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def wait_echo(port: int, aec: str, timeout: float = 60) -> None:
    """Return once something answers C-ECHO as ``aec`` on ``port`` (a peer or our server starting)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = subprocess.run(["echoscu", "-aet", "ECHOSCU", "-aec", aec, "127.0.0.1", str(port)], capture_output=True, env=DCMTK_ENV)
        if r.returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered C-ECHO as {aec} on port {port} within {timeout} s")


@contextmanager
def storescp(out: Path, ae_title: str, *options: str, ready: Callable[[int, "subprocess.Popen[bytes]"], None] | None = None) -> Iterator[int]:
    """DCMTK storescp writing what it receives into ``out``, on a free port (yielded); extra
    ``options`` go before the port (a profile, TLS...). ``ready`` waits until it serves (default:
    a plain C-ECHO)."""
    require_tool("storescp", "echoscu")
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen(["storescp", "-aet", ae_title, *options, "-od", str(out), str(port)], env=DCMTK_ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if ready is None:
            wait_echo(port, ae_title)
        else:
            ready(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait()

