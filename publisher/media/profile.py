"""Application profiles for media storage (PS3.11) and the lossless transcode they may need.

Each profile lists the transfer syntaxes its instances may use (PS3.11 Annexes C, D, ...; see
MEDIA.md). An instance in another syntax is converted losslessly: decompressed to Explicit VR
Little Endian (lossy input stays marked lossy, Lossy Image Compression "01"). Nothing is ever
compressed lossily here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
)

from publisher.media.model import MediaError, MediaInstance, MediaType


@dataclass(frozen=True)
class MediaProfile:
    """A PS3.11 General Purpose application profile."""

    name: str  #: the profile identifier written in README.TXT, e.g. ``STD-GEN-CD``
    transfer_syntaxes: frozenset[str]
    image_record_extra_keys: bool  #: DVD/BD/USB profiles add Rows, Columns, ... to IMAGE records
    annex: str

    def allows(self, transfer_syntax_uid: str) -> bool:
        return transfer_syntax_uid in self.transfer_syntaxes


_ELE = frozenset({ExplicitVRLittleEndian})
_JPEG = _ELE | {JPEGLosslessSV1, JPEGBaseline8Bit, JPEGExtended12Bit}
_J2K = _ELE | {JPEG2000Lossless, JPEG2000}

#: PS3.11 profiles we write (annex of PS3.11 in ``annex``).
PROFILES: dict[str, MediaProfile] = {
    p.name: p
    for p in (
        MediaProfile("STD-GEN-CD", _ELE, False, "C"),
        MediaProfile("STD-GEN-DVD-JPEG", _JPEG, True, "D"),
        MediaProfile("STD-GEN-DVD-J2K", _J2K, True, "D"),
        MediaProfile("STD-GEN-BD", _ELE, True, "R"),
        MediaProfile("STD-GEN-BD-JPEG", _JPEG, True, "R"),
        MediaProfile("STD-GEN-BD-J2K", _J2K, True, "R"),
        MediaProfile("STD-GEN-USB-JPEG", _JPEG, True, "R"),
        MediaProfile("STD-GEN-USB-J2K", _J2K, True, "R"),
    )
}

#: The profile used when the caller names none.
DEFAULT_PROFILE: dict[MediaType, str] = {
    MediaType.CD: "STD-GEN-CD",
    MediaType.DVD: "STD-GEN-DVD-JPEG",
    MediaType.DVD_DL: "STD-GEN-DVD-JPEG",
    MediaType.BD: "STD-GEN-BD-JPEG",
    MediaType.BD_DL: "STD-GEN-BD-JPEG",
    MediaType.USB: "STD-GEN-USB-JPEG",
    MediaType.FOLDER: "STD-GEN-USB-JPEG",
}

#: Which profiles fit which medium.
_MEDIA_OF_PROFILE = {
    "STD-GEN-CD": {MediaType.CD, MediaType.FOLDER},
    "STD-GEN-DVD-JPEG": {MediaType.DVD, MediaType.DVD_DL, MediaType.FOLDER},
    "STD-GEN-DVD-J2K": {MediaType.DVD, MediaType.DVD_DL, MediaType.FOLDER},
    "STD-GEN-BD": {MediaType.BD, MediaType.BD_DL, MediaType.FOLDER},
    "STD-GEN-BD-JPEG": {MediaType.BD, MediaType.BD_DL, MediaType.FOLDER},
    "STD-GEN-BD-J2K": {MediaType.BD, MediaType.BD_DL, MediaType.FOLDER},
    "STD-GEN-USB-JPEG": {MediaType.USB, MediaType.FOLDER},
    "STD-GEN-USB-J2K": {MediaType.USB, MediaType.FOLDER},
}

#: Syntaxes that only change the encoding of the data set (no pixel compression).
_NATIVE = {ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian}


def profile_for(media_type: MediaType, name: str | None = None) -> MediaProfile:
    """The profile ``name`` (checked against the medium) or the medium's default profile."""
    name = name or DEFAULT_PROFILE[media_type]
    try:
        profile = PROFILES[name]
    except KeyError:
        raise MediaError(f"unknown media profile {name!r}; known: {', '.join(PROFILES)}") from None
    if media_type not in _MEDIA_OF_PROFILE[name]:
        raise MediaError(f"profile {name} is not a profile for {media_type.value} media")
    return profile


def needs_transcode(inst: MediaInstance, profile: MediaProfile) -> bool:
    return not profile.allows(inst.transfer_syntax_uid)


def transcode(inst: MediaInstance, profile: MediaProfile, dest: Path) -> tuple[int, str, str]:
    """Write ``inst`` to ``dest`` in a syntax ``profile`` allows, losslessly.

    Returns ``(size, sha256, transfer_syntax_uid)``. Compressed pixel data is decoded with
    pydicom's pixel handlers (pylibjpeg, pyjpegls); the SOP Instance UID is kept because only
    the encoding changes (PS3.5 10). Input that was lossy stays flagged lossy (PS3.3 C.7.6.1.1.5).
    """
    ds = pydicom.dcmread(inst.path)
    ts = UID(ds.file_meta.TransferSyntaxUID)
    was_lossy = ts in _LOSSY_ONLY
    if ts.is_compressed:
        try:
            ds.decompress(generate_instance_uid=False)
        except Exception as exc:  # noqa: BLE001 - report any codec failure with the instance
            raise MediaError(f"cannot decompress {inst.sop_instance_uid} ({ts.name}): {exc}") from exc
        if was_lossy:
            ds.LossyImageCompression = "01"
    elif ts not in _NATIVE:
        raise MediaError(f"no lossless conversion from {ts} for {inst.sop_instance_uid}")
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if not profile.allows(ExplicitVRLittleEndian):  # every PS3.11 general profile allows it
        raise MediaError(f"profile {profile.name} allows no syntax we can write")
    dest.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(dest, enforce_file_format=True)
    digest = hashlib.sha256()
    with open(dest, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return dest.stat().st_size, digest.hexdigest(), str(ExplicitVRLittleEndian)


#: Syntaxes whose pixel data is always lossy (DCT JPEG processes, PS3.5 8.2.1); for syntaxes
#: that may be either (JPEG 2000, JPEG-LS near-lossless) the instance's own Lossy Image
#: Compression value is kept as it is.
_LOSSY_ONLY = {JPEGBaseline8Bit, JPEGExtended12Bit}
