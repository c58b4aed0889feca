"""Pixels of a frame and the reference rendering the browser viewer must reproduce.

The grayscale pipeline is the one of PS3.4 N.2 restricted to what a disc viewer needs:

1. stored values (decoded by pydicom from any transfer syntax it supports);
2. Modality LUT: linear Rescale Slope / Intercept (PS3.3 C.11.1.1.2), per frame for enhanced
   multi-frame objects (Pixel Value Transformation Sequence, PS3.3 C.7.6.16.2.9);
3. VOI LUT: the linear window of PS3.3 C.11.2.1.2.1 with output range 0..255, rounded half up;
4. MONOCHROME1 inverted after windowing (PS3.3 C.7.6.3.1.2).

``viewer_bundle/static/VIEWER.JS`` computes the same expressions in the same order with IEEE
doubles, so the canvas matches :func:`render_reference` exactly, not only within a grey level.
Colour images (RGB, YBR_*, PALETTE COLOR) are converted here to 8-bit RGB once; the browser
shows them as given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut
from pydicom.pixels.utils import pixel_array

GREY = ("MONOCHROME1", "MONOCHROME2")


@dataclass
class FrameInfo:
    """Per-frame display parameters (from the top level or the functional groups)."""

    slope: float = 1.0
    intercept: float = 0.0
    centers: tuple[float, ...] = ()
    widths: tuple[float, ...] = ()
    pixel_spacing: tuple[float, float] | None = None
    slice_location: float | None = None


def _number_of_frames(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def _fg_item(ds: Dataset, frame: int, sequence: str) -> Dataset | None:
    """The item of functional group ``sequence`` for ``frame`` (PS3.3 C.7.6.16), or None."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and frame < len(per_frame) and sequence in per_frame[frame]:
        seq = per_frame[frame].get(sequence)
        if seq:
            item: Dataset = seq[0]
            return item
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared and sequence in shared[0]:
        seq = shared[0].get(sequence)
        if seq:
            shared_item: Dataset = seq[0]
            return shared_item
    return None


def _floats(value: object) -> tuple[float, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, str):
        return tuple(float(v) for v in value)
    return (float(value),)  # type: ignore[arg-type]


def frame_info(ds: Dataset, frame: int = 0) -> FrameInfo:
    """Rescale, windows, spacing and location of ``frame``: functional groups first."""
    info = FrameInfo()
    src = _fg_item(ds, frame, "PixelValueTransformationSequence") or ds
    if "RescaleSlope" in src and src.RescaleSlope not in (None, ""):
        info.slope = float(src.RescaleSlope)
    if "RescaleIntercept" in src and src.RescaleIntercept not in (None, ""):
        info.intercept = float(src.RescaleIntercept)
    voi = _fg_item(ds, frame, "FrameVOILUTSequence") or ds
    info.centers = _floats(voi.get("WindowCenter"))
    info.widths = _floats(voi.get("WindowWidth"))
    n = min(len(info.centers), len(info.widths))
    info.centers, info.widths = info.centers[:n], info.widths[:n]
    measures = _fg_item(ds, frame, "PixelMeasuresSequence") or ds
    spacing = measures.get("PixelSpacing") or ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    if spacing and len(spacing) == 2 and float(spacing[0]) > 0 and float(spacing[1]) > 0:
        info.pixel_spacing = (float(spacing[0]), float(spacing[1]))
    if "SliceLocation" in ds and ds.SliceLocation not in (None, ""):
        info.slice_location = float(ds.SliceLocation)
    return info


def is_colour(ds: Dataset) -> bool:
    """True when the image is shown as RGB (anything but MONOCHROME1/2)."""
    return str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip() not in GREY


def frame_array(ds: Dataset, frame: int = 0, arr: np.ndarray | None = None) -> np.ndarray:
    """Frame ``frame`` as stored values (grey, rows x cols) or 8-bit RGB (rows x cols x 3).

    ``arr`` is the already decoded frame when the caller iterates frames itself.
    YBR_* is converted to RGB by pydicom's decoders (``raw=False``); PALETTE COLOR goes
    through its LUT (PS3.3 C.7.6.3.1.5) and is scaled to 8 bits.
    """
    if arr is None:
        index = frame if _number_of_frames(ds) > 1 else None
        arr = pixel_array(ds, index=index)
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        return (rgb >> 8).astype(np.uint8) if rgb.dtype.itemsize > 1 else rgb.astype(np.uint8)
    if photometric not in GREY:
        if arr.ndim == 2:  # a colour tag on a one-sample image: show it grey
            arr = np.repeat(arr[..., None], 3, axis=-1)
        if arr.dtype.itemsize > 1:
            shift = max(0, int(ds.get("BitsStored", 8)) - 8)
            arr = arr >> shift
        return arr.astype(np.uint8)
    return arr


def default_window(ds: Dataset, frame: int, values: np.ndarray, info: FrameInfo | None = None) -> tuple[float, float]:
    """The first window of the data, else the full range of modality values of the frame."""
    info = info or frame_info(ds, frame)
    if info.centers and info.widths[0] >= 1:
        return info.centers[0], info.widths[0]
    lo = float(values.min()) * info.slope + info.intercept
    hi = float(values.max()) * info.slope + info.intercept
    lo, hi = min(lo, hi), max(lo, hi)
    return (lo + hi + 1) / 2, max(1.0, hi - lo + 1)


def window_linear(x: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 linear VOI to 0..255, rounded half up; same float ops as VIEWER.JS."""
    c, w = float(center), max(1.0, float(width))
    lo = c - 0.5 - (w - 1) / 2
    hi = c - 0.5 + (w - 1) / 2
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        mid = np.floor(((x - (c - 0.5)) / (w - 1) + 0.5) * 255 + 0.5)
    out = np.where(x <= lo, 0.0, np.where(x > hi, 255.0, mid))
    return np.clip(out, 0, 255).astype(np.uint8)


def render_reference(
    ds: Dataset, frame: int = 0, center: float | None = None, width: float | None = None
) -> np.ndarray:
    """What the viewer shows for ``frame`` of ``ds`` at window ``center``/``width``.

    Grey: uint8 rows x cols (modality LUT, linear VOI, MONOCHROME1 inverted); with no window
    given, the data's first window or the full range (as the viewer opens it). Colour: uint8
    rows x cols x 3 RGB, the window is not applied.
    """
    values = frame_array(ds, frame)
    if is_colour(ds):
        return values
    info = frame_info(ds, frame)
    if center is None or width is None:
        center, width = default_window(ds, frame, values, info)
    x = values.astype(np.float64) * info.slope + info.intercept
    out = window_linear(x, center, width)
    if str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1":
        out = 255 - out
    return out
