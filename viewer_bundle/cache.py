"""Encoded frames kept between discs, so a re-burn or another copy set does not encode again.

One file per instance, named by a key over everything its records depend on: the SOP Instance
UID, the identity of the file's bytes (its SHA-256 when the caller knows it, else its size,
modification time and inode), the Instance Number and Pixel Spacing the records carry, the
predictor, :data:`viewer_bundle.frames.FORMAT` and :data:`viewer_bundle.codec.VERSION`. An entry
is a header line (JSON: the frames' lengths, the SHA-256 of the body) and the records' texts. A
read checks both; an entry that does not match (torn, truncated, flipped bits) is deleted and
the instance encoded again, so a damaged entry never reaches a disc.

The cache is bounded: :meth:`FrameCache.prune` removes the least recently used entries (a hit
touches its entry) until the cache holds at most ``max_bytes``; deleting the folder at any time
is safe (:meth:`FrameCache.purge`). Entries are written under a temporary name and renamed, not
synced: after a crash an entry is either whole, or detected as damaged and made again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

from . import codec, frames
from .content import Instance
from .frames import Encoded, Frame

_MAGIC = b"DVCACHE1 "
_SUFFIX = ".dvc"


def content_identity(inst: Instance) -> str:
    """What identifies the bytes of ``inst.source``: ``inst.content_id`` (e.g. the SHA-256 the
    index holds), else the file's size, modification time and inode."""
    if inst.content_id:
        return inst.content_id
    st = os.stat(inst.source)
    return f"stat:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{st.st_dev}"


class FrameCache:
    """Encoded instances under ``root`` (at most ``max_bytes`` after :meth:`prune`)."""

    def __init__(self, root: Path | str, max_bytes: int = 8 * 1024**3) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.damaged = 0
        self._lock = threading.Lock()

    def key(self, inst: Instance, predictor: int | None) -> str:
        """The entry name of ``inst`` encoded with ``predictor`` ("" when it cannot be cached:
        no SOP Instance UID, or no file to identify)."""
        if not inst.sop_instance_uid:
            return ""
        try:
            identity = content_identity(inst)
        except OSError:
            return ""  # unreadable: the encoder reports it, nothing is cached
        parts = [frames.FORMAT, codec.VERSION, inst.sop_instance_uid, identity, inst.instance_number,
                 list(inst.pixel_spacing) if inst.pixel_spacing else None, predictor]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{_SUFFIX}"

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def get(self, key: str) -> Encoded | None:
        """The entry ``key``, checked; None if absent or damaged (a damaged one is deleted)."""
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            self._count("misses")
            return None
        enc = _parse(raw, key)
        if enc is None:
            self._count("damaged")
            path.unlink(missing_ok=True)
            return None
        self._count("hits")
        try:
            os.utime(path)  # least recently used goes first
        except OSError:
            pass
        return enc

    def put(self, key: str, enc: Encoded) -> None:
        """Keep ``enc`` as entry ``key`` (a failure to write only costs a later re-encode)."""
        digest = hashlib.sha256()
        for f in enc.frames:
            digest.update(f.text)
        header = {"key": key, "p": enc.predictor, "frames": [[len(f.text), f.data_len, int(f.colour)] for f in enc.frames],
                  "sha256": digest.hexdigest()}
        path = self._path(key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(_MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n")
                fh.writelines(f.text for f in enc.frames)
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)

    def size(self) -> int:
        """Bytes the entries take."""
        return sum(size for _, size, _ in self._entries())

    def _entries(self) -> list[tuple[float, int, Path]]:
        out: list[tuple[float, int, Path]] = []
        if not self.root.is_dir():
            return out
        for sub in os.scandir(self.root):
            if not sub.is_dir():
                continue
            for e in os.scandir(sub.path):
                if e.name.endswith(_SUFFIX):
                    try:
                        st = e.stat()
                    except OSError:
                        continue
                    out.append((st.st_mtime, st.st_size, Path(e.path)))
        return out

    def prune(self, max_bytes: int | None = None) -> int:
        """Delete the least recently used entries until at most ``max_bytes`` (default: the
        cache's bound) remain; returns the bytes freed."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        entries = sorted(self._entries())
        total = sum(size for _, size, _ in entries)
        freed = 0
        for _, size, path in entries:
            if total - freed <= limit:
                break
            path.unlink(missing_ok=True)
            freed += size
        return freed

    def purge(self) -> None:
        """Delete every entry (the next discs encode again)."""
        shutil.rmtree(self.root, ignore_errors=True)


def _parse(raw: bytes, key: str) -> Encoded | None:
    if not raw.startswith(_MAGIC):
        return None
    end = raw.find(b"\n")
    try:
        header = json.loads(raw[len(_MAGIC):end])
        body = memoryview(raw)[end + 1:]
        lengths = [(int(t), int(d), bool(c)) for t, d, c in header["frames"]]
        if end < 0 or header["key"] != key or sum(t for t, _, _ in lengths) != len(body):
            return None
        if hashlib.sha256(body).hexdigest() != header["sha256"]:
            return None
    except (ValueError, KeyError, TypeError):
        return None
    out, at = [], 0
    for t, d, c in lengths:
        out.append(Frame(body[at:at + t], d, c))
        at += t
    predictor = header["p"]
    return Encoded(predictor if isinstance(predictor, int) else None, out)
