"""CT slices closer to a patient's than :mod:`publisher.demo.samples`: the phantom plus noise.

The phantom of :func:`publisher.demo.samples.phantom` is piecewise constant with a periodic texture,
so it compresses far better than real CT does; adding correlated noise (sigma about 8 HU)
gives the compression a real scanner's slices get, which is what sizing the on-disc viewer
data and spanning volumes must be measured with.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from pydicom.dataset import Dataset

from publisher.demo import samples as S


def add_noise(ds: Dataset, rng: np.random.Generator, sigma: float = 8.0) -> Dataset:
    """``ds`` (16-bit signed, one frame) with correlated Gaussian noise added to its pixels."""
    rows, cols = int(ds.Rows), int(ds.Columns)
    arr = np.frombuffer(ds.PixelData, np.int16).astype(np.float64).reshape(rows, cols)
    n = rng.normal(0, sigma, arr.shape)
    n = (n + np.roll(n, 1, 0) + np.roll(n, 1, 1)) / 2
    ds.PixelData = np.clip(arr + n, -32768, 32767).astype(np.int16).tobytes()
    return ds


def noisy_study(spec: S.StudySpec, seed: int = 6) -> Iterator[Dataset]:
    """The datasets of ``spec`` (see :func:`publisher.demo.samples.build_study`), CT slices noisy."""
    rng = np.random.default_rng(seed)
    for ds in S.build_study(spec):
        if ds.Modality == "CT" and "PixelData" in ds:
            add_noise(ds, rng)
        yield ds


def noisy_volume(count: int, rows: int = 512, columns: int = 512, key: str = "bench-noisy", seed: int = 6) -> Iterator[Dataset]:
    """:func:`publisher.demo.samples.ct_volume` with noise: ``count`` slices of one study."""
    rng = np.random.default_rng(seed)
    for ds in S.ct_volume(count, rows, columns, key=key):
        yield add_noise(ds, rng)
