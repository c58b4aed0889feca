"""One instance's frames as data-script records: the unit of parallel work and of the cache.

A series' records are the same whichever way they are made: :func:`encode_series` encodes the
instances that come before the series' predictor is known one by one (the predictor is chosen
from the first frame of the series, :func:`codec.choose_predictor`), then the others on a pool of
threads, and yields the results in instance order, so the chunk files are byte-identical to a
serial run. Each record is returned as its JSON text in ASCII bytes (keys short: a disc may hold
thousands), so the writer writes those bytes instead of encoding megabytes of base64 as JSON again.
"""

from __future__ import annotations

import base64
import json
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.pixels.utils import iter_pixels

from . import codec
from .reference import default_window, frame_array, frame_info

#: Bump when what a frame record holds changes: cached records of another format are not used.
FORMAT = 1


@dataclass(frozen=True)
class Job:
    """What encoding one instance needs (plain values: the same on any thread or process)."""

    source: str
    path: str  #: the File ID, for messages
    instance_number: int | None = None
    pixel_spacing: tuple[float, float] | None = None
    predictor: int | None = None  #: None: chosen from the first frame (the series' first image)
    key: str = ""  #: the cache key ("": not cached)


@dataclass
class Frame:
    """One frame record: its JSON text (ASCII; a view into a cache entry when read from one), the
    length of its base64 pixels and whether it is RGB."""

    text: bytes | memoryview
    data_len: int
    colour: bool


@dataclass
class Encoded:
    """The records of one instance; ``error`` (a message naming the file) if it stopped early."""

    predictor: int | None = None
    frames: list[Frame] = field(default_factory=list)
    error: str = ""

    @property
    def shown(self) -> bool:
        """True when every frame was encoded (the instance may give the thumbnail)."""
        return bool(self.frames) and not self.error


class Store(Protocol):
    """Where encoded instances are kept between discs (:class:`viewer_bundle.cache.FrameCache`)."""

    def get(self, key: str) -> Encoded | None: ...

    def put(self, key: str, enc: Encoded) -> None: ...


def frame_meta(ds: Dataset, instance_number: int | None, pixel_spacing: tuple[float, float] | None, index: int,
               values: np.ndarray, predictor: int) -> dict[str, object]:
    """What the browser needs to show frame ``index`` besides its pixels (``d``, added last)."""
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    rec: dict[str, object] = {
        "r": int(values.shape[0]),
        "c": int(values.shape[1]),
        "b": int(values.dtype.itemsize),
        "s": int(values.dtype.kind == "i"),
        "k": 3 if values.ndim == 3 else 1,
        "p": predictor,
        "n": instance_number if instance_number is not None else int(ds.get("InstanceNumber", 0) or 0),
        "f": index + 1,
        "nf": frames,
    }
    info = frame_info(ds, index)
    if values.ndim == 2:
        rec["m"] = int(str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1")
        rec["rs"], rec["ri"] = info.slope, info.intercept
        centers = [c for c, w in zip(info.centers, info.widths) if w >= 1]
        widths = [w for w in info.widths if w >= 1]
        if not centers:
            c, w = default_window(ds, index, values, info)
            centers, widths = [c], [w]
        rec["wc"], rec["ww"] = centers, widths
        expl = ds.get("WindowCenterWidthExplanation")
        if expl:
            rec["we"] = [str(e) for e in expl] if isinstance(expl, (list, tuple)) or type(expl).__name__ == "MultiValue" else [str(expl)]
    if info.pixel_spacing:
        rec["ps"] = list(info.pixel_spacing)
    elif pixel_spacing:
        rec["ps"] = list(pixel_spacing)
    if info.slice_location is not None:
        rec["sl"] = info.slice_location
    if frames > 1:
        ft = ds.get("FrameTime") or (1000.0 / float(ds.CineRate) if ds.get("CineRate") else None)
        if ft:
            rec["ft"] = float(ft)
    return rec


def record_text(meta: dict[str, object], data: bytes) -> bytes:
    """``json.dumps({**meta, "d": data})`` as the writer writes it (compact, ASCII), without
    scanning the base64 text for characters to escape: its alphabet has none (RFC 4648 4)."""
    head = json.dumps(meta, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return b"".join((head[:-1], b',"d":"' if len(head) > 2 else b'"d":"', data, b'"}'))


def encode_instance(job: Job, store: Store | None = None) -> Encoded:
    """The records of ``job``'s frames, from ``store`` when it holds them (then nothing is read)."""
    if store is not None and job.key:
        hit = store.get(job.key)
        if hit is not None:
            return hit
    out = Encoded(job.predictor)
    try:
        ds = dcmread(job.source)
        if "PixelData" not in ds and "FloatPixelData" not in ds:
            return out  # nothing to show (e.g. an RT structure set)
        for index, arr in enumerate(iter_pixels(ds)):
            values = frame_array(ds, index, arr)
            if out.predictor is None:
                out.predictor = codec.choose_predictor(values)
            data = base64.b64encode(codec.encode(values, out.predictor))
            meta = frame_meta(ds, job.instance_number, job.pixel_spacing, index, values, out.predictor)
            out.frames.append(Frame(record_text(meta, data), len(data), values.ndim == 3))
    except Exception as exc:  # a bad file must not stop the disc; it is reported
        out.error = f"{job.path}: {type(exc).__name__}: {exc}"
        return out
    if store is not None and job.key and out.frames:
        store.put(job.key, out)
    return out


def default_workers() -> int:
    """Threads to encode with: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def encode_series(count: int, make_job: Callable[[int, int | None], Job], *, workers: int = 1,
                  store: Store | None = None) -> Iterator[Encoded]:
    """The :class:`Encoded` of instances ``0 .. count - 1`` in order; ``make_job(n, predictor)``
    describes instance ``n`` once the series' predictor is known (None before its first frame).

    Up to ``workers`` threads encode at once (zlib, NumPy, hashing and file reads release the GIL);
    at most a few results per thread wait to be consumed, so memory stays bounded."""
    n, predictor = 0, None
    while n < count and predictor is None:  # the series' first frame decides its predictor
        enc = encode_instance(make_job(n, None), store)
        predictor, n = enc.predictor, n + 1
        yield enc
    jobs: Sequence[Job] = [make_job(k, predictor) for k in range(n, count)]
    if workers <= 1 or len(jobs) < 2:
        for job in jobs:
            yield encode_instance(job, store)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="viewer-encode") as pool:
        pending: deque[Future[Encoded]] = deque()
        it = iter(jobs)
        for job in it:
            pending.append(pool.submit(encode_instance, job, store))
            if len(pending) >= 4 * workers:
                break
        while pending:
            enc = pending.popleft().result()
            following = next(it, None)
            if following is not None:
                pending.append(pool.submit(encode_instance, following, store))
            yield enc
