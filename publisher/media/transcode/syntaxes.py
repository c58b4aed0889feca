"""Transfer syntaxes as mastering sees them: which are native, lossy, video, and who decodes them.

The tables follow PS3.5 Annex A (native encodings A.1-A.3, deflate A.5, encapsulated pixel data
A.4) and PS3.5 8.2 (which compression processes are lossy). The decoder order of
:data:`DECODERS` was measured on pydicom's and pydicom-data's test files (every compressed
file, each decoder, compared with DCMTK's ``dcmdjpeg``/``dcmdjpls``/``dcmdrle``):

* JPEG baseline / extended 8 bit (PS3.5 A.4.1): Pillow and GDCM (both IJG libjpeg) equal
  DCMTK's decoding pixel for pixel; pylibjpeg's libjpeg differs by up to 5 on some files.
* JPEG extended 12 bit (process 4): only DCMTK's ``dcmdjpeg`` decoded both test files
  (pylibjpeg: libjpeg error -1038 on one and +-1 on the other; GDCM's wheel and Pillow refuse
  12-bit precision), so DCMTK comes first and pylibjpeg is the last resort.
* JPEG lossless (process 14, SV1) up to 16 bit: GDCM 2-3x faster than pylibjpeg, both exact.
* JPEG-LS (PS3.5 A.4.3): pyjpegls (CharLS) fastest, exact.
* JPEG 2000 and HTJ2K (PS3.5 A.4.4, A.4.11): pylibjpeg-openjpeg; GDCM as a second choice.
* RLE (PS3.5 A.4.2): pylibjpeg-rle (GDCM's pydicom plugin cannot decode RLE).

``"dcmtk"`` stands for DCMTK's command line decoders, run on the stored file.
"""

from __future__ import annotations

from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    HTJ2K,
    HTJ2KLossless,
    HTJ2KLosslessRPCL,
    ImplicitVRLittleEndian,
    JPEG2000,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

#: Native pixel data: only the encoding of the data set differs (PS3.5 A.1, A.2, A.3, A.5).
NATIVE: frozenset[str] = frozenset(
    {ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian}
)

#: Syntaxes whose pixel data are always lossy (the DCT processes of ISO 10918-1, PS3.5 8.2.1).
#: For syntaxes that may be either (JPEG 2000, JPEG-LS near-lossless) the instance's own
#: Lossy Image Compression value is kept.
LOSSY_ONLY: frozenset[str] = frozenset({JPEGBaseline8Bit, JPEGExtended12Bit})

#: Method names for Lossy Image Compression Method (0028,2114), PS3.3 C.7.6.1.1.5.1.
LOSSY_METHOD: dict[str, str] = {JPEGBaseline8Bit: "ISO_10918_1", JPEGExtended12Bit: "ISO_10918_1"}

#: Video syntaxes (PS3.5 8.2.5-8.2.8) and the PS3.11 profiles that hold them (Annex R of PS3.11,
#: as DCMTK's dcmmkdir lists them): video is never decoded to frames for media.
VIDEO_PROFILES: dict[str, tuple[str, ...]] = {
    "1.2.840.10008.1.2.4.100": ("STD-GEN-BD-MPEG2-MPML",),
    "1.2.840.10008.1.2.4.101": ("STD-GEN-BD-MPEG2-MPHL",),
    "1.2.840.10008.1.2.4.102": ("STD-GEN-BD-MPEG4-HPLV41",),
    "1.2.840.10008.1.2.4.103": ("STD-GEN-BD-MPEG4-HPLV41BD",),
}

_IJG_8BIT = ("pillow", "gdcm", "dcmtk", "pylibjpeg")

#: Transfer syntax -> decoders to try, in order (module docstring: why this order).
DECODERS: dict[str, tuple[str, ...]] = {
    JPEGBaseline8Bit: _IJG_8BIT,
    JPEGExtended12Bit: _IJG_8BIT,
    JPEGLossless: ("gdcm", "pylibjpeg", "dcmtk"),
    JPEGLosslessSV1: ("gdcm", "pylibjpeg", "dcmtk"),
    JPEGLSLossless: ("pyjpegls", "gdcm", "dcmtk"),
    JPEGLSNearLossless: ("pyjpegls", "gdcm", "dcmtk"),
    JPEG2000Lossless: ("pylibjpeg", "gdcm"),
    JPEG2000: ("pylibjpeg", "gdcm"),
    HTJ2KLossless: ("pylibjpeg",),
    HTJ2KLosslessRPCL: ("pylibjpeg",),
    HTJ2K: ("pylibjpeg",),
    RLELossless: ("pylibjpeg", "pydicom", "dcmtk"),
}

#: JPEG extended with more than 8 bits (process 4): DCMTK first (module docstring).
DECODERS_12BIT: tuple[str, ...] = ("dcmtk", "pylibjpeg")

#: DCMTK's decoder for each family of syntaxes, when ``"dcmtk"`` is in the chain.
DCMTK_DECODER: dict[str, str] = {
    JPEGBaseline8Bit: "dcmdjpeg",
    JPEGExtended12Bit: "dcmdjpeg",
    JPEGLossless: "dcmdjpeg",
    JPEGLosslessSV1: "dcmdjpeg",
    JPEGLSLossless: "dcmdjpls",
    JPEGLSNearLossless: "dcmdjpls",
    RLELossless: "dcmdrle",
}

#: The lossless compression a profile's syntaxes allow, for "compress to fit" (PS3.11 D, R).
LOSSLESS_TARGETS: tuple[str, ...] = (JPEG2000Lossless, JPEGLosslessSV1)


def decoders_for(ts: str, bits_stored: int | None) -> tuple[str, ...]:
    """The decoders to try for pixel data in ``ts`` with ``bits_stored`` bits."""
    if ts == JPEGExtended12Bit and (bits_stored or 8) > 8:
        return DECODERS_12BIT
    return DECODERS.get(ts, ())


def name(ts: str) -> str:
    """A transfer syntax's name, for messages."""
    uid = UID(ts)
    return uid.name if uid.is_transfer_syntax else ts
