"""Lossless compression for media that allow it ("compress to fit"): pixels stay equal.

Only a lossless syntax the profile allows is used (PS3.11: JPEG 2000 lossless on the J2K
profiles, JPEG lossless SV1 on the JPEG profiles, PS3.5 A.4.1 / A.4.4), and each compressed
image is decoded again and compared with the original before it is used; an image the encoder
cannot take, or that would not get smaller, stays as it is. The check decodes with pylibjpeg,
not with the encoder's own library.

Encoder measured on a 512 x 512 CT slice of pydicom-data (693_UNCR, 14 bit, 524 KB): JPEG 2000
lossless GDCM 29 ms / pylibjpeg-openjpeg 37 ms (both 105 KB); JPEG lossless SV1 GDCM 11 ms
(150 KB) / DCMTK ``dcmcjpeg +e1`` 51 ms per file; pydicom has no SV1 encoder. GDCM encodes both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, JPEG2000Lossless, JPEGLosslessSV1

#: The decoder that checks GDCM's output: pylibjpeg's openjpeg / libjpeg, not GDCM itself.
VERIFY_WITH = "pylibjpeg"

#: Photometric interpretations the encoders take without a colour transform of ours.
_PHOTOMETRIC = {"MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR"}


class EncodeError(Exception):
    """An image was not compressed (it goes on the medium as it is)."""


def can_compress(ds: Dataset) -> str:
    """Why ``ds`` (native pixel data) is not compressed losslessly; empty when it can be."""
    if "PixelData" not in ds:
        return "no pixel data"
    if ds.get("BitsAllocated") not in (8, 16) or not 1 <= int(ds.get("BitsStored") or 0) <= 16:
        return f"{ds.get('BitsAllocated')} bits allocated"
    if ds.get("SamplesPerPixel", 1) not in (1, 3):
        return f"{ds.get('SamplesPerPixel')} samples per pixel"
    if ds.get("PhotometricInterpretation") not in _PHOTOMETRIC:
        return f"photometric interpretation {ds.get('PhotometricInterpretation')}"
    return ""


def compress(ds: Dataset, native_file: Path, target: str, scratch: Path) -> Dataset:
    """``ds`` (read from ``native_file``, Explicit VR LE) with its pixel data compressed in
    ``target`` by GDCM, checked equal to the original pixels. Raises :class:`EncodeError`."""
    if target not in (JPEG2000Lossless, JPEGLosslessSV1):
        raise EncodeError(f"{target} is not a lossless syntax we write")
    why = can_compress(ds)
    if why:
        raise EncodeError(why)
    import gdcm  # python-gdcm: the only in-process JPEG lossless SV1 encoder (module docstring)

    original = ds.pixel_array
    reader = gdcm.ImageReader()
    reader.SetFileName(str(native_file))
    if not reader.Read():
        raise EncodeError("GDCM cannot read the image")
    change = gdcm.ImageChangeTransferSyntax()
    ts_id = gdcm.TransferSyntax.JPEG2000Lossless if target == JPEG2000Lossless else gdcm.TransferSyntax.JPEGLosslessProcess14_1
    change.SetTransferSyntax(gdcm.TransferSyntax(ts_id))
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise EncodeError("GDCM could not encode the image")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(scratch))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    try:
        if not writer.Write():
            raise EncodeError("GDCM could not write the image")
        encoded = pydicom.dcmread(scratch)
    finally:
        scratch.unlink(missing_ok=True)
    if len(encoded.PixelData) >= len(ds.PixelData):
        raise EncodeError("compressed it is no smaller")
    out = _with_pixels(ds, encoded, target)
    out.pixel_array_options(decoding_plugin=VERIFY_WITH)  # another library than the encoder
    if not np.array_equal(out.pixel_array, original):
        raise EncodeError("the compressed pixels differ from the original (not used)")
    return out


def _with_pixels(ds: Dataset, encoded: Dataset, target: str) -> Dataset:
    """``ds`` with the encapsulated pixel data (and photometric interpretation) of ``encoded``."""
    out = ds.copy()
    out.file_meta = FileMetaDataset(ds.file_meta)
    out.file_meta.TransferSyntaxUID = UID(target)
    out.PixelData = encoded.PixelData
    out["PixelData"].VR = "OB"
    out["PixelData"].is_undefined_length = True
    for keyword in ("PhotometricInterpretation", "PlanarConfiguration"):
        if keyword in encoded:
            out[keyword] = encoded[keyword]
    return out
