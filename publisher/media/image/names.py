"""Names on the medium: ISO 9660 Level 1 identifiers, Joliet (UCS-2) and UDF (OSTA CS0) names.

The folder/Joliet/UDF name is the ``dest`` path as given (DICOM File IDs upper case, PS3.10
8.2); ISO 9660 Level 1 names are derived from it (ECMA-119 7.5, 7.6; PS3.12 F.3.2 / P.1.3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from publisher.media.model import MediaError

MAX_LEVELS = 8  #: ECMA-119 6.8.2.1 / PS3.12 F.1.2.1, P.1.3.1: root + 7 levels below
JOLIET_MAX = 64  #: Joliet file identifiers: at most 64 UCS-2 characters (Joliet specification 1995)
UDF_MAX = 255  #: UDF 2.60 2.3.4: a File Identifier of at most 255 bytes (OSTA CS0)
_D_CHARS = re.compile(r"[^A-Z0-9_]")
_JOLIET_BAD = re.compile(r"[\x00-\x1f*:;?\\]")  # not allowed in Joliet identifiers ("/" separates them)


def d_chars(text: str, limit: int) -> str:
    """``text`` folded to ISO 9660 d-characters (ECMA-119 7.4.1), at most ``limit`` long."""
    return _D_CHARS.sub("_", text.upper())[:limit] or "_"


class IsoNamer:
    """Assigns unique ISO 9660 Level 1 names, directory by directory, in the order asked."""

    def __init__(self) -> None:
        self.dirs: dict[str, str] = {"": ""}  # dest dir -> iso dir path
        self._used: dict[str, set[str]] = {}

    def _unique(self, iso_parent: str, base: str, ext: str | None) -> str:
        taken = self._used.setdefault(iso_parent, set())
        name = base if ext is None else f"{base}.{ext};1"
        n = 1
        while name in taken:
            tail = str(n)
            short = f"{base[: 8 - len(tail) - 1]}_{tail}"
            name = short if ext is None else f"{short}.{ext};1"
            n += 1
        taken.add(name)
        return name

    def folder(self, dest: str) -> str:
        """ISO path of the directory ``dest`` (and of its parents), e.g. ``/DICOM/P0000001``."""
        if dest in self.dirs:
            return self.dirs[dest]
        parent, _, part = dest.rpartition("/")
        iso_parent = self.folder(parent)
        self.dirs[dest] = f"{iso_parent}/{self._unique(iso_parent, d_chars(part, 8), None)}"
        return self.dirs[dest]

    def file(self, dest: str) -> str:
        """ISO path of the file ``dest``: ``DICOMDIR`` -> ``/DICOMDIR.;1`` (ECMA-119 7.5.1: both
        separators always present); other names folded to 8.3 d-characters, unique per folder."""
        parent, _, part = dest.rpartition("/")
        iso_parent = self.folder(parent)
        base, dot, ext = part.rpartition(".")
        if not dot:
            base, ext = part, ""
        return f"{iso_parent}/{self._unique(iso_parent, d_chars(base, 8), _D_CHARS.sub('_', ext.upper())[:3])}"


def check_dest(dest: str) -> list[str]:
    """The components of ``dest``; a clear error for what no file system here can record."""
    parts = dest.split("/")
    if not dest or "" in parts or "." in parts or ".." in parts:
        raise MediaError(f"{dest!r}: not a relative path on the medium")
    if len(parts) > MAX_LEVELS:
        raise MediaError(f"{dest}: more than {MAX_LEVELS} directory levels (ECMA-119 6.8.2.1, PS3.10 8.2)")
    if max(map(len, parts)) > JOLIET_MAX:
        raise MediaError(f"{dest}: a name longer than {JOLIET_MAX} characters (Joliet)")
    bad = _JOLIET_BAD.search(dest)
    if bad:
        raise MediaError(f"{dest}: {bad.group()!r} is a character Joliet cannot record (* : ; ? \\ or control)")
    return parts


def iso_names(dests: Sequence[str], folders: Iterable[str] = ()) -> dict[str, str]:
    """Map each ``dest`` path ("/"-separated, as on the medium) to its ISO 9660 Level 1 path.

    DICOM File IDs and 8.3 upper-case names map one to one (``DICOMDIR`` -> ``/DICOMDIR.;1``,
    ECMA-119 7.5: both separators always present); other names (a viewer's) are folded to
    d-characters, 8.3, and made unique within their directory. ``folders`` are extra (possibly
    empty) directories, mapped as ``dest`` keys too.
    """
    namer = IsoNamer()
    out: dict[str, str] = {}
    for dest in dests:
        check_dest(dest)
        out[dest] = namer.file(dest)
    for folder in folders:
        check_dest(folder)
        out[folder] = namer.folder(folder)
    return out


def ucs2(text: str) -> bytes:
    """Joliet identifiers: UCS-2 big endian (characters outside the BMP become ``_``)."""
    if text and max(text) >= "\U00010000":
        text = "".join(c if ord(c) < 0x10000 else "_" for c in text)
    return text.encode("utf-16-be")


def cs0(text: str) -> bytes:
    """OSTA Compressed Unicode (UDF 2.60 2.1.1): compression ID 8 when every character fits in
    a byte, else 16 (big-endian UCS-2, characters outside the BMP become ``_``)."""
    try:
        return b"\x08" + text.encode("latin-1")
    except UnicodeEncodeError:
        return b"\x10" + ucs2(text)


def dstring(text: str, size: int) -> bytes:
    """A ``dstring`` field of ``size`` bytes (ECMA-167 1/7.2.12): CS0 bytes, last byte = their length."""
    if not text:
        return bytes(size)
    raw = cs0(text)
    if len(raw) > size - 1:
        step = 1 if raw[0] == 8 else 2
        raw = raw[: 1 + (size - 2) // step * step]
    return raw + bytes(size - 1 - len(raw)) + bytes([len(raw)])


def udf_name(part: str, dest: str) -> bytes:
    name = cs0(part)
    if len(name) > UDF_MAX:
        raise MediaError(f"{dest}: name {part!r} longer than {UDF_MAX} bytes in UDF (UDF 2.60 2.3.4)")
    return name
