"""Writing a volume: ISO 9660 Level 1 + Joliet image (CD), UDF bridge image (DVD, BD), folder.

PS3.12 Annex F (CD-R): ISO 9660 Level 1, the File-set ID as Volume Identifier, at most 8
directory levels. Annexes P / X (DVD / BD): UDF, which we bridge with ISO 9660 + Joliet so every
reader finds the files. The image is written with pycdlib, which opens each source file only
when it copies it (no whole disc in memory). pycdlib lays file data out breadth first in name
order, so the small root files (DICOMDIR, README.TXT, INDEX.HTM, ...) come first and the DICOM
files follow in File ID order, which is DICOMDIR order (see :mod:`publisher.media.fileset`).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import pycdlib

from publisher.media.model import DiscFile, MediaError, Progress

MAX_LEVELS = 8  #: ECMA-119 6.8.2.1 / PS3.12 F.3: root + 7 levels below
_D_CHARS = re.compile(r"[^A-Z0-9_]")
APPLICATION_ID = "DISC PUBLISHER"


def _d(text: str, limit: int) -> str:
    return _D_CHARS.sub("_", text.upper())[:limit] or "_"


def iso_names(dests: Sequence[str]) -> dict[str, str]:
    """Map each ``dest`` path ("/"-separated, as on the medium) to its ISO 9660 Level 1 path.

    DICOM File IDs and 8.3 upper-case names map one to one (``DICOMDIR`` -> ``/DICOMDIR.;1``,
    ECMA-119 7.5: both separators always present); other names (a viewer's) are folded to
    d-characters, 8.3, and made unique within their directory.
    """
    dirs: dict[str, str] = {"": ""}  # dest dir -> iso dir
    used: dict[str, set[str]] = {}
    out: dict[str, str] = {}
    for dest in dests:
        parts = dest.split("/")
        if len(parts) > MAX_LEVELS:
            raise MediaError(f"{dest}: more than {MAX_LEVELS} directory levels (ECMA-119 6.8.2.1)")
        parent = ""
        for i, part in enumerate(parts):
            here = "/".join(parts[: i + 1])
            is_file = i == len(parts) - 1
            iso_parent = dirs[parent]
            if not is_file and here in dirs:
                parent = here
                continue
            taken = used.setdefault(iso_parent, set())
            if is_file:
                base, dot, ext = part.rpartition(".")
                if not dot:
                    base, ext = part, ""
                base, ext = _d(base, 8), _D_CHARS.sub("_", ext.upper())[:3]
                name = f"{base}.{ext};1"
                n = 1
                while name in taken:
                    tail = str(n)
                    name = f"{base[: 8 - len(tail) - 1]}_{tail}.{ext};1"
                    n += 1
                taken.add(name)
                out[dest] = f"{iso_parent}/{name}"
            else:
                name = _d(part, 8)
                n = 1
                while name in taken:
                    tail = str(n)
                    name = f"{name[: 8 - len(tail) - 1]}_{tail}"
                    n += 1
                taken.add(name)
                dirs[here] = f"{iso_parent}/{name}"
                parent = here
    return out


def write_image(
    files: Sequence[DiscFile],
    out: Path,
    *,
    volume_id: str,
    udf: bool = False,
    progress: Progress | None = None,
) -> int:
    """Master ``files`` into the image ``out``; returns its size in bytes.

    ``volume_id`` is the File-set ID (PS3.12 F.3.1: Volume Identifier of the PVD); Joliet (and
    UDF 2.60 when ``udf``) carry the same names as the folder output.
    """
    names = iso_names([f.dest for f in files])
    iso = pycdlib.PyCdlib()
    iso.new(
        interchange_level=1,
        vol_ident=_d(volume_id, 32),
        app_ident_str=APPLICATION_ID,
        joliet=3,
        udf="2.60" if udf else None,
    )
    made: set[str] = set()
    try:
        for f in files:
            iso_path = names[f.dest]
            parts = f.dest.split("/")
            iso_parts = iso_path.split("/")[1:]
            for depth in range(1, len(parts)):
                dest_dir = "/".join(parts[:depth])
                if dest_dir in made:
                    continue
                made.add(dest_dir)
                iso.add_directory(
                    "/" + "/".join(iso_parts[:depth]),
                    joliet_path="/" + dest_dir,
                    udf_path="/" + dest_dir if udf else None,
                )
            iso.add_file(
                str(f.source), iso_path, joliet_path="/" + f.dest, udf_path="/" + f.dest if udf else None
            )

        def _cb(done: int, total: int, _opaque: object) -> None:
            if progress is not None:
                progress(done, total, f"writing {out.name}")

        tmp = out.with_name(out.name + ".part")
        iso.write(str(tmp), blocksize=1 << 20, progress_cb=_cb if progress else None)
        os.replace(tmp, out)
    finally:
        iso.close()
    return out.stat().st_size


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
