"""Writing a volume: ISO 9660 image (CD), UDF bridge image (DVD, BD), or a folder (USB).

The file system of each medium (PS3.12; ``docs/conformance.md``):

* CD-R (Annex F): ISO 9660 Level 1, the File-set ID as Volume Identifier, at most 8 directory
  levels; Joliet beside it so long viewer names survive;
* DVD (Annex P): a UDF 1.02 / ISO 9660 + Joliet bridge. P.2.1 lets a creator write any one of
  UDF 1.02, 1.5, 2.0, 2.01 and asks every reader to read all of them and ISO 9660; 1.02 is the
  revision every UDF reader reads (Annex J note 5: a 1.5 reader may reject a later revision);
* BD (Annex X): UDF 2.60 (BD-R; ``"2.50"`` for BD-RE) with a Metadata Partition and mirror, no
  VAT, no sparable partition (X.2.1), bridged with ISO 9660 + Joliet for older readers;
* USB / folder: the files as they are (the stick's FAT file system is the operator's).

Images are written by :mod:`publisher.media.image` (no mastering library: pycdlib writes no
UDF 2.x). File data is laid out in the order given: DICOMDIR and the other small files first,
then the DICOM files in File ID order, which is DICOMDIR order (:mod:`publisher.media.fileset`).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from publisher.media.image import image_size, iso_names, write_image
from publisher.media.image.names import MAX_LEVELS
from publisher.media.model import DiscFile, MediaType
from publisher.progress import Progress

__all__ = ["MAX_LEVELS", "image_size", "iso_names", "udf_revision", "write_folder", "write_image"]

#: UDF revision of each optical medium's bridge image; CD has none (PS3.12 F, P.2.1, X.2.1).
UDF_REVISION = {
    MediaType.DVD: "1.02",
    MediaType.DVD_DL: "1.02",
    MediaType.BD: "2.60",  # BD-R (X.2.1); a BD-RE would take "2.50"
    MediaType.BD_DL: "2.60",
}


def udf_revision(media_type: MediaType) -> str | None:
    """The UDF revision written on ``media_type`` (``None``: ISO 9660 + Joliet only)."""
    return UDF_REVISION.get(media_type)


def write_folder(files: Sequence[DiscFile], root: Path, *, progress: Progress | None = None) -> int:
    """Copy ``files`` under ``root`` with their on-media names (USB stick, network share)."""
    total = sum(f.size for f in files)
    done = 0
    for f in files:
        dest = root.joinpath(*f.dest.split("/"))
        if dest.resolve() != Path(f.source).resolve():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f.source, dest)
        done += f.size
        if progress is not None:
            progress(done, total, f"copying {f.dest}")
    return total
