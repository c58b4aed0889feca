"""Third-party peers for Query/Retrieve tests: DCMTK storescp / movescu / getscu, started per test."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port
from tests.qr.helpers import DCMTK_ENV

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


def wait_echo(port: int, aec: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["echoscu", "-aet", "ECHOSCU", "-aec", aec, "127.0.0.1", str(port)], capture_output=True, env=DCMTK_ENV).returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered C-ECHO on port {port}")


@contextmanager
def storescp_explicit_images_only(out: Path, ae_title: str = "EXPLICIT") -> Iterator[int]:
    """DCMTK storescp accepting CT, MR and CR images in Explicit VR Little Endian only."""
    out.mkdir(parents=True, exist_ok=True)
    cfg = out.parent / f"{ae_title}.cfg"
    cfg.write_text(_STORESCP_CFG)
    port = free_port()
    proc = subprocess.Popen(
        ["storescp", "-aet", ae_title, "-xf", str(cfg), "ExplicitImagesOnly", "-od", str(out), str(port)],
        env=DCMTK_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_echo(port, ae_title)
        yield port
    finally:
        proc.terminate()
        proc.wait()


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
