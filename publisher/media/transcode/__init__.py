"""Putting every stored syntax on every medium: re-encode, decompress, or compress losslessly.

One module per direction: :mod:`.native` (Big Endian, Implicit VR, Deflate -> Explicit VR Little
Endian), :mod:`.decode` (encapsulated -> native) and :mod:`.encode` (native -> a lossless syntax
the profile allows, only when asked). :func:`conversion` decides what an instance needs for a
profile (PS3.11 profile tables, :mod:`publisher.media.profile`); :func:`convert` does it; the
SOP Instance UID never changes, because only the encoding does (PS3.5 10). Video (MPEG) is never
decoded: a profile that cannot hold it is refused, naming those that can.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian

from publisher.media.model import MediaInstance
from publisher.media.profile import MediaProfile
from publisher.media.scan import sha256_file
from publisher.media.transcode import decode, encode, native, syntaxes

__all__ = ["Conversion", "TranscodeError", "conversion", "convert", "refusal"]

#: Record keys a conversion may change (written again into the instance's DICOMDIR record).
_CHANGED_KEYS = ("LossyImageCompression", "LossyImageCompressionRatio", "LossyImageCompressionMethod",
                 "PhotometricInterpretation")


class TranscodeError(Exception):
    """An instance cannot be put on the medium in a syntax the profile allows (message: why)."""


@dataclass(frozen=True)
class Conversion:
    """What an instance needs for a profile: ``steps`` among "re-encode", "decode", "compress"."""

    source: str  #: its transfer syntax
    steps: tuple[str, ...]
    target: str  #: the syntax it will have on the medium (compression may still fall back to ELE)

    @property
    def needed(self) -> bool:
        return bool(self.steps)


def refusal(inst: MediaInstance, profile: MediaProfile) -> str:
    """Why ``inst`` can never go on ``profile`` here (empty when it can, maybe converted):
    video the profile cannot hold, or pixel data nothing installed can decode."""
    ts = inst.transfer_syntax_uid
    if profile.allows(ts) or ts in syntaxes.NATIVE:
        return ""
    holders = syntaxes.VIDEO_PROFILES.get(ts)
    if holders is not None:
        return (f"{syntaxes.name(ts)} video is not decoded to frames for media and {profile.name} cannot hold it; "
                f"profiles that can: {', '.join(holders)}")
    return decode.missing_decoder(ts, _bits(inst))


def conversion(inst: MediaInstance, profile: MediaProfile, *, compress: bool = False) -> Conversion:
    """The steps that put ``inst`` on ``profile`` (``compress``: losslessly compress native
    images where the profile allows a lossless syntax)."""
    ts = inst.transfer_syntax_uid
    steps: list[str] = []
    if not profile.allows(ts):
        steps.append("re-encode" if ts in syntaxes.NATIVE else "decode")
    native_after = ts in syntaxes.NATIVE or bool(steps)
    target = ts if not steps else str(ExplicitVRLittleEndian)
    lossless = [t for t in syntaxes.LOSSLESS_TARGETS if profile.allows(t)]
    if compress and native_after and lossless and _has_pixels(inst):
        steps.append("compress")
        target = lossless[0]
    return Conversion(ts, tuple(steps), target)


def _has_pixels(inst: MediaInstance) -> bool:
    keys = inst.record_keys
    return "Rows" in keys and "Columns" in keys


def _bits(inst: MediaInstance) -> int | None:
    elem = inst.record_keys.get("BitsAllocated")
    value = getattr(elem, "value", elem)
    return int(value) if isinstance(value, int) else None


def convert(inst: MediaInstance, conv: Conversion, dest: Path) -> MediaInstance:
    """Write ``inst`` to ``dest`` as ``conv`` says; returns the instance as it goes on the
    medium (``inst`` itself when nothing changed). Raises :class:`TranscodeError` with the
    reason when it cannot be done; check :func:`refusal` first for video."""
    if not conv.needed:
        return inst
    if conv.source in syntaxes.VIDEO_PROFILES:
        raise TranscodeError(f"{syntaxes.name(conv.source)} video is not decoded to frames for media")
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = dest.with_name(dest.name + ".tmp")
    if "decode" in conv.steps:
        try:
            ds = decode.decode(inst.path, scratch)
        except decode.DecodeError as exc:
            raise TranscodeError(str(exc)) from exc
    else:
        ds = pydicom.dcmread(inst.path)
        if native.is_big_endian(conv.source):
            native.big_to_little(ds)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    native_file = inst.path if conv.source == ExplicitVRLittleEndian else _write(ds, dest)
    if "compress" in conv.steps:
        try:
            ds = encode.compress(ds, native_file, conv.target, scratch)
        except encode.EncodeError:
            if native_file == inst.path:
                return inst  # stays as stored
        else:
            _write(ds, dest)
    keys = inst.record_keys.copy()
    for kw in _CHANGED_KEYS:
        if kw in ds:
            keys[kw] = ds[kw]
    return replace(inst, path=dest, size=dest.stat().st_size, sha256=sha256_file(dest),
                   transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID), record_keys=keys)


def _write(ds: Dataset, dest: Path) -> Path:
    pydicom.dcmwrite(dest, ds, enforce_file_format=True)
    return dest
