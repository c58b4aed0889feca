"""Helpers for foundation tests: a service on free ports, DCMTK tool runs, sample files."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from publisher.config import AllowedCaller, Settings, load_settings
from publisher.service import Service
from tests.support.net import free_port
from tests.support.peers import DCMTK_ENV


def settings_for(tmp: Path, db_url: str, **dicom: object) -> Settings:
    base = load_settings(environ={})
    options: dict[str, object] = {
        "port": free_port(),
        "bind": "127.0.0.1",
        "allowed_callers": (AllowedCaller("STORESCU"), AllowedCaller("ECHOSCU"), AllowedCaller("PYNETDICOM")),
        "min_free_bytes": 0,
    }
    options.update(dicom)
    d = replace(base.dicom, **options)  # type: ignore[arg-type]
    return replace(base, data_dir=tmp, database_url=db_url, http_port=free_port(), load_samples=False, dicom=d)


@contextmanager
def running_service(settings: Settings) -> Iterator[Service]:
    service = Service(settings)
    service.prepare()
    service.start_dicom()
    try:
        yield service
    finally:
        service.stop()


def storescu(port: int, files: Sequence[Path], *extra: str, aet: str = "STORESCU", aec: str = "DISCPUB") -> subprocess.CompletedProcess[str]:
    """DCMTK storescu, proposing each file's own transfer syntax (-xs not needed: +r -R style)."""
    cmd = ["storescu", "-aet", aet, "-aec", aec, *extra, "127.0.0.1", str(port), *map(str, files)]
    return subprocess.run(cmd, capture_output=True, text=True, env=DCMTK_ENV, timeout=600)


def pixel_bytes(path: Path) -> bytes:
    """The raw value of (7FE0,0010) as stored in the file (encapsulated or native)."""
    from pydicom import dcmread

    ds = dcmread(path)
    return bytes(ds.PixelData)


def archive_files(root: Path) -> list[Path]:
    """Every file under an archive root (instances and partial files in ``.incoming``) except
    the lock files of ``.locks`` (publisher.archive.uid_lock), which are not data."""
    from publisher.archive.uid_lock import LOCKS

    return [p for p in root.rglob("*") if p.is_file() and LOCKS not in p.relative_to(root).parts]
