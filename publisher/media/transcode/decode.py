"""Decompressing encapsulated pixel data (PS3.5 A.4) to native Explicit VR Little Endian.

Each syntax has a chain of decoders (:data:`~publisher.media.transcode.syntaxes.DECODERS`,
measured, see there); the first that decodes wins, and when all fail the error names every
decoder and why. A lossy source stays marked lossy: Lossy Image Compression "01", with its
Ratio and Method kept and, when the source had none, added (PS3.3 C.7.6.1.1.5).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, ExplicitVRLittleEndian
from pydicom.valuerep import format_number_as_ds

from publisher.media.transcode import syntaxes

#: DCMTK's decoders get this long per file before they count as failed.
DCMTK_TIMEOUT = 600


class DecodeError(Exception):
    """No decoder could decompress an instance (the message names each and why)."""


def available(decoder: str, ts: str) -> bool:
    """Whether ``decoder`` can be tried for ``ts`` on this machine."""
    if decoder == "dcmtk":
        tool = syntaxes.DCMTK_DECODER.get(ts)
        return tool is not None and shutil.which(tool) is not None
    try:
        return decoder in get_decoder(UID(ts)).available_plugins
    except (NotImplementedError, ValueError):
        return False


def chain(ts: str, bits_stored: int | None) -> list[str]:
    """The decoders that will be tried for ``ts``, in order, among those installed here."""
    return [d for d in syntaxes.decoders_for(ts, bits_stored) if available(d, ts)]


def missing_decoder(ts: str, bits_stored: int | None) -> str:
    """Why nothing here can decode ``ts`` (empty when something can)."""
    if chain(ts, bits_stored):
        return ""
    wanted = syntaxes.decoders_for(ts, bits_stored)
    if not wanted:
        return f"no decoder exists for {syntaxes.name(ts)}"
    tools = [syntaxes.DCMTK_DECODER[ts] if d == "dcmtk" else d for d in wanted if d != "dcmtk" or ts in syntaxes.DCMTK_DECODER]
    return f"no decoder for {syntaxes.name(ts)} is installed (install one of: {', '.join(tools)})"


def decode(path: Path, scratch: Path) -> Dataset:
    """The instance at ``path`` with native pixel data, ready to write as Explicit VR LE.

    ``scratch`` is a file name DCMTK may write to (removed afterwards)."""
    ds = pydicom.dcmread(path)
    ts = str(ds.file_meta.TransferSyntaxUID)
    bits = ds.get("BitsStored")
    tried: list[str] = []
    for decoder in chain(ts, bits):
        try:
            out = _dcmtk(path, ts, scratch) if decoder == "dcmtk" else _pydicom(ds, decoder)
        except Exception as exc:  # noqa: BLE001 - every codec failure is reported with its decoder
            tried.append(f"{decoder}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__}")
            ds = pydicom.dcmread(path)  # a failed attempt may have left the dataset half-changed
            continue
        mark_lossy(out, ts, compressed_bytes=_encapsulated_size(ds))
        return out
    why = "; ".join(tried) or missing_decoder(ts, bits)
    raise DecodeError(f"cannot decode {syntaxes.name(ts)} pixel data ({why})")


def _pydicom(ds: Dataset, plugin: str) -> Dataset:
    ds.decompress(decoding_plugin=plugin, generate_instance_uid=False)
    return ds


def _dcmtk(path: Path, ts: str, scratch: Path) -> Dataset:
    tool = syntaxes.DCMTK_DECODER[ts]
    scratch.parent.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run([tool, "--write-xfer-little", str(path), str(scratch)], capture_output=True, text=True,
                              errors="replace", timeout=DCMTK_TIMEOUT)
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise DecodeError(f"{tool} exited {proc.returncode}: {lines[-1] if lines else ''}")
        out = pydicom.dcmread(scratch)
        out.PixelData  # read it all before the file goes
        return out
    finally:
        scratch.unlink(missing_ok=True)


def _encapsulated_size(ds: Dataset) -> int:
    elem = ds.get("PixelData")
    return len(elem) if isinstance(elem, (bytes, bytearray)) else 0


def mark_lossy(ds: Dataset, source_ts: str, *, compressed_bytes: int) -> None:
    """Keep (or add) the lossy marks of a decompressed instance (PS3.3 C.7.6.1.1.5).

    Lossy-only syntaxes set Lossy Image Compression to "01"; an instance already marked lossy
    keeps its Ratio and Method as they are; one that was not gets the ratio of this compression
    and its method appended."""
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if source_ts not in syntaxes.LOSSY_ONLY:
        return
    if ds.get("LossyImageCompression") == "01":
        return
    ds.LossyImageCompression = "01"
    native = len(ds.PixelData) if "PixelData" in ds else 0
    if compressed_bytes and native and "LossyImageCompressionRatio" not in ds:
        ds.LossyImageCompressionRatio = format_number_as_ds(native / compressed_bytes)
    if "LossyImageCompressionMethod" not in ds:
        ds.LossyImageCompressionMethod = syntaxes.LOSSY_METHOD[source_ts]
