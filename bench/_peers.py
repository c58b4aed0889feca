"""Starting the peers benchmarks compare against (DCMTK storescp, Orthanc) and ourselves."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: DCMTK (and Orthanc, which embeds it) waits ~40 ms per message on loopback without this.
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_echo(port: int, aec: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["/usr/bin/echoscu", "-aet", "ECHOSCU", "-aec", aec, "127.0.0.1", str(port)], capture_output=True, env=DCMTK_ENV).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered C-ECHO on port {port}")


@contextmanager
def storescp(out: Path, fork: bool = False) -> Iterator[tuple[int, str]]:
    """DCMTK's storescp (by full path: the venv holds pynetdicom's script of that name); with
    ``fork``, one process per association, so that concurrent associations are served at once."""
    port = free_port()
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(["/usr/bin/storescp", "-aet", "STORESCP", "-od", str(out), "+B", *(["--fork"] if fork else []), str(port)],
                            env=DCMTK_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_echo(port, "STORESCP")
        yield port, "STORESCP"
    finally:
        proc.terminate()
        proc.wait()


@contextmanager
def orthanc(work: Path, **config: object) -> Iterator[tuple[int, str]]:
    """Orthanc on a free port; ``config``: more of its settings (e.g. DicomAlwaysAllowFind=True)."""
    exe = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
    port, http = free_port(), free_port()
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "orthanc.json"
    cfg.write_text(json.dumps({
        "Name": "bench", "DicomAet": "ORTHANC", "DicomPort": port, "HttpPort": http,
        "StorageDirectory": str(work / "storage"), "IndexDirectory": str(work / "index"),
        "DicomCheckCalledAet": False, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        "Plugins": [], "StorageCompression": False, "DicomAlwaysAllowStore": True, **config,
    }))
    proc = subprocess.Popen([exe, str(cfg)], env=DCMTK_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_echo(port, "ORTHANC")
        yield port, "ORTHANC"
    finally:
        proc.terminate()
        proc.wait()


@contextmanager
def publisher(data: Path, **env: str) -> Iterator[tuple[int, str]]:
    port = free_port()
    environ = {
        **os.environ, "PUBLISHER_DATA_DIR": str(data), "PUBLISHER_DICOM_PORT": str(port),
        "PUBLISHER_HTTP_PORT": str(free_port()), "PUBLISHER_PROMISCUOUS": "true",
        "PUBLISHER_LOAD_SAMPLES": "false", **env,
    }
    proc = subprocess.Popen([sys.executable, "-m", "publisher.cli", "serve"], env=environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_echo(port, "DISCPUB")
        yield port, "DISCPUB"
    finally:
        proc.terminate()
        proc.wait()
