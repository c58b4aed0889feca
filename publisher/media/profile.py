"""Application profiles for media storage (PS3.11) and the transfer syntaxes they allow.

Each profile lists the transfer syntaxes its instances may use (PS3.11 Annexes C, D, R; see
MEDIA.md). An instance in another syntax is converted (:mod:`publisher.media.transcode`):
re-encoded or decompressed to Explicit VR Little Endian, lossy input staying marked lossy.
Nothing is ever compressed lossily.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.uid import (
    ExplicitVRLittleEndian,
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
        # video profiles of PS3.11 Annex R: the MPEG syntax for multi-frame IODs, else Explicit VR LE
        MediaProfile("STD-GEN-BD-MPEG2-MPML", _ELE | {"1.2.840.10008.1.2.4.100"}, True, "R"),
        MediaProfile("STD-GEN-BD-MPEG2-MPHL", _ELE | {"1.2.840.10008.1.2.4.101"}, True, "R"),
        MediaProfile("STD-GEN-BD-MPEG4-HPLV41", _ELE | {"1.2.840.10008.1.2.4.102"}, True, "R"),
        MediaProfile("STD-GEN-BD-MPEG4-HPLV41BD", _ELE | {"1.2.840.10008.1.2.4.103"}, True, "R"),
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
    "STD-GEN-BD-MPEG2-MPML": {MediaType.BD, MediaType.BD_DL, MediaType.FOLDER},
    "STD-GEN-BD-MPEG2-MPHL": {MediaType.BD, MediaType.BD_DL, MediaType.FOLDER},
    "STD-GEN-BD-MPEG4-HPLV41": {MediaType.BD, MediaType.BD_DL, MediaType.FOLDER},
    "STD-GEN-BD-MPEG4-HPLV41BD": {MediaType.BD, MediaType.BD_DL, MediaType.FOLDER},
    "STD-GEN-USB-JPEG": {MediaType.USB, MediaType.FOLDER},
    "STD-GEN-USB-J2K": {MediaType.USB, MediaType.FOLDER},
}


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
