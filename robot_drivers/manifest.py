"""The manifest of an image (size + sha256) and the read-back comparison used by verify."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from robot_drivers.errors import VerifyFailure

CHUNK = 1 << 20
SECTOR = 2048


@dataclass(frozen=True)
class ImageManifest:
    """What a good disc must read back as: the first ``size`` bytes hash to ``sha256``."""

    path: Path
    size: int
    sha256: str

    @classmethod
    def of(cls, path: Path | str) -> "ImageManifest":
        path = Path(path)
        digest = hashlib.sha256()
        size = 0
        for chunk in read_chunks(path):
            digest.update(chunk)
            size += len(chunk)
        return cls(path=path, size=size, sha256=digest.hexdigest())


def read_chunks(path: Path, limit: int | None = None) -> Iterator[bytes]:
    """Read ``path`` (a file or a block device) in chunks, up to ``limit`` bytes."""
    remaining = limit
    with open(path, "rb", buffering=0) as fh:
        while remaining is None or remaining > 0:
            want = CHUNK if remaining is None else min(CHUNK, remaining)
            chunk = fh.read(want)
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def sha256_of(path: Path, limit: int | None = None) -> str:
    """sha256 of the first ``limit`` bytes of ``path`` (all of it when ``None``)."""
    digest = hashlib.sha256()
    for chunk in read_chunks(path, limit):
        digest.update(chunk)
    return digest.hexdigest()


def first_difference(a: Iterable[bytes], b: Iterable[bytes]) -> int | None:
    """Byte offset of the first difference between two chunk streams (or None)."""
    offset = 0
    buf_a = buf_b = b""
    it_a, it_b = iter(a), iter(b)
    while True:
        if not buf_a:
            buf_a = next(it_a, b"")
        if not buf_b:
            buf_b = next(it_b, b"")
        if not buf_a and not buf_b:
            return None
        if not buf_a or not buf_b:
            return offset
        n = min(len(buf_a), len(buf_b))
        if buf_a[:n] != buf_b[:n]:
            return offset + next(i for i in range(n) if buf_a[i] != buf_b[i])
        offset += n
        buf_a, buf_b = buf_a[n:], buf_b[n:]


def verify_readback(device: Path, manifest: ImageManifest) -> str:
    """Read ``manifest.size`` bytes back from ``device`` and compare to the manifest.

    Returns the sha256 read back. Raises :class:`VerifyFailure` naming the first
    differing byte and sector when the image file is still there to compare with.
    """
    try:
        digest = hashlib.sha256()
        size = 0
        for chunk in read_chunks(device, manifest.size):
            digest.update(chunk)
            size += len(chunk)
        got = digest.hexdigest()
    except OSError as exc:
        raise VerifyFailure(f"cannot read back {device}: {exc}") from exc
    if size < manifest.size:
        raise VerifyFailure(f"read back {size} of {manifest.size} bytes from {device}")
    if got == manifest.sha256:
        return got
    where = ""
    if manifest.path.exists():
        off = first_difference(read_chunks(device, manifest.size), read_chunks(manifest.path))
        if off is not None:
            where = f" at byte {off} (sector {off // SECTOR})"
    raise VerifyFailure(
        f"verify failed on {device}: sha256 {got[:16]}... != manifest {manifest.sha256[:16]}...{where}")


def iso_volume_size(path: Path) -> int | None:
    """Bytes of the ISO 9660 volume at ``path`` (Primary Volume Descriptor, ECMA-119 8.4.8).

    The volume space size is the little-endian 32-bit number at offset 80 of the
    descriptor in sector 16. Returns ``None`` when there is no ISO 9660 volume.
    """
    try:
        with open(path, "rb") as fh:
            fh.seek(16 * SECTOR)
            pvd = fh.read(SECTOR)
    except OSError:
        return None
    if len(pvd) < 88 or pvd[0] != 1 or pvd[1:6] != b"CD001":
        return None
    return int.from_bytes(pvd[80:84], "little") * SECTOR
