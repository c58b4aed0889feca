"""Pixel payloads for the browser: predictor, byte planes, zlib, base64.

A page opened from ``file://`` may not fetch files, so pixels travel inside ``<script>`` files
as base64 text. To keep that small each frame is:

1. split into sample planes (grey: one; colour: R, G, B), each ``rows x columns`` values of
   1, 2 or 4 bytes (two's complement kept as unsigned);
2. optionally predicted from the row above (``PREDICT_UP``: value minus the value above,
   modulo 2**bits), which helps smooth images;
3. split into byte planes (all low bytes, then the next byte, ...), which lets deflate see the
   nearly constant high bytes of CT;
4. compressed as a zlib stream (RFC 1950: ``DecompressionStream('deflate')`` in the browser)
   by ISA-L (:data:`LEVEL`, the one setting: the writer, the size estimate and the cache key all
   use it) and base64-encoded.

:func:`decode` is the exact inverse, used by tests; VIEWER.JS ``decodeFrame`` is its twin.
"""

from __future__ import annotations

import struct
import zlib

import isal
import numpy as np
from isal import isal_zlib

PREDICT_NONE = 0
PREDICT_UP = 1

_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32}

#: The one deflate setting of the viewer's pixel data: ISA-L (``isal``) at its level 2, chosen
#: by measurement (``bench/viewer_codec.py``, docs/performance.md "Viewer data"): on CT slices
#: 10-16x less CPU than zlib level 6 for streams 1-7 % larger.
LEVEL = 2
#: What makes the bytes of a stream: cached streams made with another version are not reused.
VERSION = f"byte-planes-1/isal-{isal.__version__}/level-{LEVEL}"


def _planes(arr: np.ndarray) -> np.ndarray:
    """Sample planes, shape (samples, rows, cols), as unsigned integers of the same width."""
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = np.moveaxis(arr, -1, 0)
    size = arr.dtype.itemsize
    if arr.dtype.kind not in "iu" or size not in _UNSIGNED:
        raise ValueError(f"cannot encode pixels of dtype {arr.dtype}")
    return np.ascontiguousarray(arr).view(_UNSIGNED[size])


def byte_planes(arr: np.ndarray, predictor: int = PREDICT_UP) -> np.ndarray:
    """What is deflated for ``arr`` (bytes, as a flat ``uint8`` array): its sample planes,
    predicted, split into byte planes."""
    planes = _planes(arr)
    if predictor == PREDICT_UP and planes.shape[1] > 1:
        predicted = np.empty_like(planes)
        predicted[:, 0] = planes[:, 0]
        np.subtract(planes[:, 1:], planes[:, :-1], out=predicted[:, 1:])  # unsigned arithmetic wraps
        planes = predicted
    size = planes.dtype.itemsize
    flat = planes.reshape(-1)
    if size == 1:
        return flat
    grouped = flat.astype(f"<u{size}", copy=False).view(np.uint8).reshape(-1, size)
    out = np.empty((size, grouped.shape[0]), np.uint8)
    for k in range(size):  # all low bytes, then the next byte, ...
        out[k] = grouped[:, k]
    return out.reshape(-1)


def deflate(raw: bytes | np.ndarray) -> bytes:
    """The zlib stream (RFC 1950) of ``raw`` at :data:`LEVEL` (ISA-L releases the GIL)."""
    return bytes(isal_zlib.compress(raw, LEVEL))


def encode(arr: np.ndarray, predictor: int = PREDICT_UP) -> bytes:
    """zlib stream of ``arr`` (rows x cols, or rows x cols x samples) per the module doc."""
    return deflate(byte_planes(arr, predictor))


def predictor_sizes(arr: np.ndarray) -> dict[int, int]:
    """Bytes of the stream of ``arr`` with each predictor (at :data:`LEVEL`)."""
    return {p: len(encode(arr, p)) for p in (PREDICT_NONE, PREDICT_UP)}


def smaller(sizes: dict[int, int]) -> int:
    """The predictor of :func:`predictor_sizes` giving the smaller stream (ties: the lower)."""
    return min(sizes, key=lambda p: (sizes[p], p))


def choose_predictor(arr: np.ndarray) -> int:
    """The predictor giving the smaller stream for ``arr`` (decide once per series)."""
    return smaller(predictor_sizes(arr))


def decode(data: bytes, shape: tuple[int, ...], dtype: np.dtype | str, predictor: int) -> np.ndarray:
    """Inverse of :func:`encode` (for tests; the browser has its own copy)."""
    dtype = np.dtype(dtype)
    size = dtype.itemsize
    rows, cols = shape[0], shape[1]
    samples = shape[2] if len(shape) > 2 else 1
    raw = np.frombuffer(zlib.decompress(data), np.uint8)
    if size == 1:
        flat = raw.copy()
    else:
        flat = np.ascontiguousarray(raw.reshape(size, -1).T).view(f"<u{size}").reshape(-1)
    planes = flat.astype(_UNSIGNED[size]).reshape(samples, rows, cols)
    if predictor == PREDICT_UP:
        planes = np.cumsum(planes, axis=1, dtype=_UNSIGNED[size])
    out = planes.view(dtype)
    return out[0] if samples == 1 and len(shape) == 2 else np.moveaxis(out, 0, -1)


def png(arr: np.ndarray) -> bytes:
    """A minimal PNG (grey or RGB, 8 bit) for thumbnails: no imaging library needed at write."""
    arr = np.ascontiguousarray(arr.astype(np.uint8))
    rows, cols = arr.shape[:2]
    colour = 2 if arr.ndim == 3 else 0
    scan = np.concatenate([np.zeros((rows, 1), np.uint8), arr.reshape(rows, -1)], axis=1)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", cols, rows, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(scan.tobytes(), 9))
        + chunk(b"IEND", b"")
    )
