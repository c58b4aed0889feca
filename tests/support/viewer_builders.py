"""Datasets the samples module lacks: YBR_FULL, PALETTE COLOR and an enhanced multi-frame CT."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import convert_color_space
from pydicom.sequence import Sequence

from publisher.demo.samples import (
    ASCII_PATIENT,
    SeriesSpec,
    StudySpec,
    build_study,
    make_uid,
)

ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
STUDY = StudySpec(ASCII_PATIENT, "colour", "Colour and enhanced", "20260320", series=(SeriesSpec("us", 1, 1, "", 48, 40),))


def rgb_image(rows: int = 48, cols: int = 40) -> np.ndarray:
    y, x = np.mgrid[0:rows, 0:cols]
    return np.stack([(x * 6) % 256, (y * 5) % 256, ((x + y) * 3) % 256], axis=-1).astype(np.uint8)


def _base(number: int, description: str) -> Dataset:
    ds = build_study(STUDY)[0]
    ds.SeriesInstanceUID = make_uid("series", "colour", number)
    ds.SOPInstanceUID = make_uid("instance", "colour", number)
    ds.SeriesNumber = number
    ds.SeriesDescription = description
    for kw in ("NumberOfFrames", "FrameTime", "FrameIncrementPointer"):
        if kw in ds:
            delattr(ds, kw)
    return ds


def ybr_full() -> Dataset:
    """Single-frame US in YBR_FULL (PS3.3 C.7.6.3.1.2), converted from :func:`rgb_image`."""
    ds = _base(11, "YBR full")
    ds.Rows, ds.Columns = 48, 40
    ds.PhotometricInterpretation = "YBR_FULL"
    ds.PixelData = convert_color_space(rgb_image(), "RGB", "YBR_FULL").astype(np.uint8).tobytes()
    return ds


def palette() -> Dataset:
    """PALETTE COLOR, 8-bit indices, 16-bit LUT entries (PS3.3 C.7.6.3.1.5)."""
    ds = _base(12, "Palette")
    ds.Rows, ds.Columns = 48, 40
    ds.SamplesPerPixel = 1
    del ds.PlanarConfiguration
    ds.PhotometricInterpretation = "PALETTE COLOR"
    idx = np.arange(256, dtype=np.uint16)
    for colour, lut in (("Red", idx * 257), ("Green", (255 - idx) * 257), ("Blue", (idx // 2) * 257)):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", lut.astype("<u2").tobytes())
    y, x = np.mgrid[0:48, 0:40]
    ds.PixelData = ((x * 5 + y * 3) % 256).astype(np.uint8).tobytes()
    return ds


def enhanced_ct(frames: int = 3, rows: int = 32, cols: int = 32) -> Dataset:
    """Enhanced CT with per-frame rescale and window, shared pixel measures (PS3.3 C.7.6.16)."""
    ds = _base(13, "Enhanced CT")
    ds.SOPClassUID = ENHANCED_CT
    ds.Modality = "CT"
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    del ds.PlanarConfiguration
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.NumberOfFrames = frames
    y, x = np.mgrid[0:rows, 0:cols]
    ds.PixelData = np.stack([(x * 40 + y * 20 + f * 300) % 4096 for f in range(frames)]).astype("<u2").tobytes()
    measures = Dataset()
    measures.PixelSpacing = [0.7, 0.7]
    measures.SliceThickness = 1.0
    shared = Dataset()
    shared.PixelMeasuresSequence = Sequence([measures])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    items = []
    for f in range(frames):
        pvt = Dataset()
        pvt.RescaleIntercept = -1024 - 100 * f
        pvt.RescaleSlope = 1
        pvt.RescaleType = "HU"
        voi = Dataset()
        voi.WindowCenter = 200 + 50 * f
        voi.WindowWidth = 1000 + 250 * f
        item = Dataset()
        item.PixelValueTransformationSequence = Sequence([pvt])
        item.FrameVOILUTSequence = Sequence([voi])
        items.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(items)
    return ds


def extra_datasets() -> list[Dataset]:
    return [ybr_full(), palette(), enhanced_ct()]
