"""Manifest of a volume (sha256 per file) and read-back verification of an image or a disc.

The manifest is what the index records for the volume; :func:`verify` reads every file back from
an ISO/UDF image, a burned disc's block device (e.g. ``/dev/sr0``) or a folder, and reports the
first difference (missing file, size, or the first differing byte when the source is at hand).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pycdlib

from publisher.media.iso import iso_names
from publisher.media.model import DiscFile

CHUNK = 1 << 20


@dataclass(frozen=True)
class ManifestEntry:
    path: str  #: on the medium ("/"-separated; Joliet/UDF/folder name)
    iso_path: str  #: ISO 9660 name
    size: int
    sha256: str
    source: str = ""
    sop_instance_uid: str = ""


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_difference: str = ""


def write_manifest(path: Path, files: Sequence[DiscFile], *, file_set_id: str, volume: int, volumes: int) -> None:
    """Write the JSON manifest of ``files`` (sha256 per file) to ``path``."""
    names = iso_names([f.dest for f in files])
    entries = [
        ManifestEntry(f.dest, names[f.dest], f.size, f.sha256, str(f.source), f.sop_instance_uid).__dict__
        for f in files
    ]
    doc = {"file_set_id": file_set_id, "volume": volume, "volumes": volumes, "files": entries}
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")


def read_manifest(path: Path) -> list[ManifestEntry]:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return [ManifestEntry(**e) for e in doc["files"]]


def _hash_stream(fp: BinaryIO) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while chunk := fp.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _first_diff(a: BinaryIO, source: str) -> int | None:
    try:
        b = open(source, "rb")
    except OSError:
        return None
    with b:
        pos = 0
        while True:
            x, y = a.read(CHUNK), b.read(CHUNK)
            if x != y:
                n = min(len(x), len(y))
                return pos + next((i for i in range(n) if x[i] != y[i]), n)
            if not x:
                return None
            pos += len(x)


def verify(target: Path, manifest: Sequence[ManifestEntry] | Path) -> VerifyResult:
    """Read ``target`` (image file, block device, or folder) back and compare with ``manifest``."""
    entries = read_manifest(manifest) if isinstance(manifest, Path) else list(manifest)
    target = Path(target)
    if target.is_dir():
        return _verify_folder(target, entries)
    iso = pycdlib.PyCdlib()
    try:
        iso.open(str(target))
    except Exception as exc:  # noqa: BLE001 - any unreadable medium is a failed verify
        return VerifyResult(False, 0, f"cannot read {target}: {exc}")
    try:
        checked = 0
        for e in entries:
            try:
                ctx = iso.open_file_from_iso(iso_path=e.iso_path)
            except pycdlib.pycdlibexception.PyCdlibException:
                return VerifyResult(False, checked, f"{e.path}: missing on the medium")
            with ctx as fp:
                diff = _compare(fp, e, lambda: iso.open_file_from_iso(iso_path=e.iso_path))
            if diff:
                return VerifyResult(False, checked, diff)
            checked += 1
        return VerifyResult(True, checked)
    finally:
        iso.close()


def _compare(fp: BinaryIO, e: ManifestEntry, reopen) -> str:  # type: ignore[no-untyped-def]
    size, digest = _hash_stream(fp)
    if size != e.size:
        return f"{e.path}: size {size} on the medium, {e.size} expected"
    if digest != e.sha256:
        with reopen() as again:
            offset = _first_diff(again, e.source) if e.source else None
        where = f" (first differing byte at offset {offset})" if offset is not None else ""
        return f"{e.path}: sha256 {digest} on the medium, {e.sha256} expected{where}"
    return ""


def _verify_folder(root: Path, entries: Sequence[ManifestEntry]) -> VerifyResult:
    checked = 0
    for e in entries:
        path = root.joinpath(*e.path.split("/"))
        if not path.is_file():
            return VerifyResult(False, checked, f"{e.path}: missing")
        with open(path, "rb") as fp:
            diff = _compare(fp, e, lambda p=path: open(p, "rb"))
        if diff:
            return VerifyResult(False, checked, diff)
        checked += 1
    return VerifyResult(True, checked)
