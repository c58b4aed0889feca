"""Where the files of a medium from elsewhere are: a folder or an ISO 9660 image (ECMA-119).

Names are looked up without regard to case and with the ISO 9660 version suffix (``;1``) and
the empty extension separator (``DICOMDIR.;1``) ignored (ECMA-119 7.5).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, cast

_VERSION = re.compile(r";\d*$")
_ISO_SIGNATURE_AT = 16 * 2048 + 1  #: ECMA-119 8.4: "CD001" in the first volume descriptor


class MediumError(Exception):
    """The source cannot be opened as a medium at all (not a folder, not an ISO image)."""



@dataclass(frozen=True)
class MediumFile:
    """A file on a medium: its path ("/"-separated, relative to the medium's root, without an
    ISO 9660 version suffix) and size in bytes."""

    path: str
    size: int


def normalise(path: str) -> str:
    """The lookup form of a path on a medium: ``/`` separators, each component without an
    ISO 9660 version (``;1``) or trailing empty extension (``NAME.``), case-folded."""
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    return "/".join(_VERSION.sub("", p).rstrip(".").casefold() for p in parts)


class Medium:
    """Files of a source, looked up without regard to case or ISO 9660 version suffixes."""

    description: str = ""
    volume_id: str = ""

    def __init__(self) -> None:
        self._files: list[MediumFile] | None = None
        self._index: dict[str, MediumFile] = {}

    # what a concrete medium provides
    def _list(self) -> Iterator[MediumFile]:
        raise NotImplementedError

    def open(self, path: str) -> BinaryIO:
        """A binary stream of the file at ``path`` (as :meth:`files` names it)."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def escaped(self, normalised_path: str) -> bool:
        """Whether the name exists on the medium but leads outside it (a folder's symlink)."""
        return False

    # shared
    def files(self) -> list[MediumFile]:
        """Every regular file of the medium, in path order."""
        if self._files is None:
            self._files = sorted(self._list(), key=lambda f: f.path)
            for f in self._files:
                self._index.setdefault(normalise(f.path), f)
        return self._files

    def lookup(self, path: str) -> MediumFile | None:
        """The file whose name matches ``path`` case-insensitively (version suffix ignored)."""
        self.files()
        return self._index.get(normalise(path))

    def read(self, path: str) -> bytes:
        with self.open(path) as fh:
            return fh.read()

    def head(self, path: str, size: int = 132) -> bytes:
        with self.open(path) as fh:
            return fh.read(size)

    def __enter__(self) -> "Medium":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class FolderMedium(Medium):
    """A folder: a mounted disc, or a disc's tree copied somewhere."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)
        self._real_root = self.root.resolve()
        self._escaped: set[str] = set()
        self.description = str(self.root)
        self.volume_id = self.root.name

    def _list(self) -> Iterator[MediumFile]:
        for here, dirs, names in os.walk(self.root):
            dirs.sort()
            for name in names:
                full = Path(here) / name
                rel = full.relative_to(self.root).as_posix()
                if full.is_symlink() and not full.resolve().is_relative_to(self._real_root):
                    self._escaped.add(normalise(rel))  # leads outside the medium: never read
                    continue
                try:
                    if full.is_file():
                        yield MediumFile(rel, full.stat().st_size)
                except OSError:
                    continue

    def escaped(self, normalised_path: str) -> bool:
        self.files()
        return normalised_path in self._escaped

    def local_path(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/"))

    def open(self, path: str) -> BinaryIO:
        return open(self.local_path(path), "rb")


class IsoMedium(Medium):
    """An ISO 9660 image (with Joliet / Rock Ridge / UDF bridge) read with pycdlib, unmounted.

    Files are listed in the richest name space the image has (Joliet, else Rock Ridge, else
    ISO 9660); a name not found there is also looked up among the plain ISO 9660 names, which
    are the ones DICOM File IDs match on CD-R (PS3.12 F.3.2)."""

    def __init__(self, image: Path) -> None:
        super().__init__()
        import pycdlib
        from pycdlib.pycdlibexception import PyCdlibException

        self.image = Path(image)
        self._iso = pycdlib.PyCdlib()
        try:
            self._iso.open(str(self.image))
        except (PyCdlibException, OSError) as exc:
            raise MediumError(f"{image}: not a readable ISO 9660 image ({exc})") from None
        if self._iso.has_joliet():
            self._space = "joliet_path"
        elif self._iso.has_rock_ridge():
            self._space = "rr_path"
        else:
            self._space = "iso_path"
        self._where: dict[str, tuple[str, str]] = {}  # listed path -> (name space, path in it)
        self._alias: dict[str, MediumFile] | None = None  # normalised ISO 9660 path -> file not listed
        pvd = self._iso.pvd
        self.volume_id = pvd.volume_identifier.decode("ascii", "replace").strip() if pvd is not None else ""
        self.description = f"{self.image} (volume {self.volume_id or '?'})"

    def _walk(self, space: str) -> Iterator[tuple[str, str, int]]:
        """(path without version, path in the name space, size) of every file in ``space``."""
        for here, _dirs, names in self._iso.walk(**{space: "/"}):
            for name in names:
                full = f"{here.rstrip('/')}/{name}"
                size = self._iso.get_record(**{space: full}).get_data_length()
                shown = "/".join(_VERSION.sub("", p).rstrip(".") if space == "iso_path" else p
                                 for p in full.strip("/").split("/"))
                yield shown, full, int(size)

    def _list(self) -> Iterator[MediumFile]:
        for shown, full, size in self._walk(self._space):
            self._where[shown] = (self._space, full)
            yield MediumFile(shown, size)

    def lookup(self, path: str) -> MediumFile | None:
        found = super().lookup(path)
        if found is not None or self._space == "iso_path":
            return found
        if self._alias is None:
            self._alias = {}
            for shown, full, size in self._walk("iso_path"):
                key = normalise(shown)
                if key not in self._index:
                    alias = "iso9660:" + shown
                    self._where[alias] = ("iso_path", full)
                    self._alias[key] = MediumFile(alias, size)
        return self._alias.get(normalise(path))

    def open(self, path: str) -> BinaryIO:
        if path not in self._where:
            self.files()
        space, full = self._where[path]
        return cast(BinaryIO, self._iso.open_file_from_iso(**{space: full}))

    def close(self) -> None:
        self._iso.close()


def open_medium(source: Path) -> Medium:
    """A folder, a DICOMDIR file (its folder), or an ISO image file (detected by its volume
    descriptor signature ``CD001``, ECMA-119 8.4.2, whatever its name)."""
    source = Path(source)
    if source.is_dir():
        return FolderMedium(source)
    if not source.is_file():
        raise MediumError(f"{source}: no such folder or image file")
    if normalise(source.name) == "dicomdir":
        return FolderMedium(source.parent)
    with open(source, "rb") as fh:
        fh.seek(_ISO_SIGNATURE_AT)
        signature = fh.read(5)
    if signature != b"CD001":
        raise MediumError(f"{source}: neither a folder nor an ISO 9660 image (no CD001 volume descriptor)")
    return IsoMedium(source)
