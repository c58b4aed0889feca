"""TrueType fonts for labels: Latin/Greek/Cyrillic from DejaVu, CJK from Droid Sans Fallback.

reportlab embeds TrueType (glyf) outlines only, not CFF/OTF, so the fonts are
picked from known paths of Debian packages at run time:

* ``fonts-dejavu-core``: ``DejaVuSans.ttf``, ``DejaVuSans-Bold.ttf`` (Latin, Greek, Cyrillic);
* ``fonts-droid-fallback``: ``DroidSansFallbackFull.ttf`` (CJK: Han, Kana, Hangul).

Text is split into runs per character: each run uses the first font of the
chain that has the character (see :func:`runs`). :func:`configure` adds folders to look in
first: the service passes ``[labels] font_dirs`` (environment ``PUBLISHER_LABELS_FONT_DIRS`` or
``LABEL_FONT_DIRS``, read by :mod:`publisher.config`, not here).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont


class FontNotFound(RuntimeError):
    """A label font is missing; the message names the Debian package to install."""


SEARCH_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/truetype/droid",
    "/usr/share/fonts/truetype",
    "/usr/local/share/fonts",
)


@dataclass(frozen=True)
class FontFace:
    """One font file registered with reportlab under ``name``."""

    name: str
    file: str
    package: str


#: style -> chain of faces tried in order, per character
CHAINS: dict[str, tuple[FontFace, ...]] = {
    "regular": (FontFace("LabelSans", "DejaVuSans.ttf", "fonts-dejavu-core"),
                FontFace("LabelCJK", "DroidSansFallbackFull.ttf", "fonts-droid-fallback")),
    "bold": (FontFace("LabelSans-Bold", "DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
             FontFace("LabelCJK", "DroidSansFallbackFull.ttf", "fonts-droid-fallback")),
}


#: Folders searched before :data:`SEARCH_DIRS` (:func:`configure`).
_extra_dirs: tuple[str, ...] = ()


def configure(font_dirs: Iterable[Path | str]) -> None:
    """Look in ``font_dirs`` first (``Settings.labels.font_dirs``); fonts loaded are forgotten."""
    global _extra_dirs
    dirs = tuple(str(d) for d in font_dirs)
    if dirs != _extra_dirs:
        _extra_dirs = dirs
        load.cache_clear()


def find_font_file(face: FontFace) -> Path:
    """Path of ``face.file`` in the configured font folders or the known Debian folders."""
    extra = list(_extra_dirs)
    for folder in (*extra, *SEARCH_DIRS):
        candidate = Path(folder) / face.file
        if candidate.is_file():
            return candidate
    raise FontNotFound(f"label font {face.file} not found in {', '.join((*extra, *SEARCH_DIRS))}:"
                       f" install the Debian package '{face.package}'")


@lru_cache(maxsize=None)
def load(face: FontFace) -> TTFont:
    """Register ``face`` with reportlab (once) and return it."""
    font = TTFont(face.name, str(find_font_file(face)))
    pdfmetrics.registerFont(font)
    return font


def chain(style: str = "regular") -> tuple[FontFace, ...]:
    """The font chain of ``style`` (``regular`` or ``bold``)."""
    return CHAINS[style]


def face_for(ch: str, faces: tuple[FontFace, ...]) -> FontFace:
    """The first face of ``faces`` that has a glyph for ``ch`` (else the first face)."""
    if ch.isspace():
        return faces[0]
    for face in faces:
        if ord(ch) in load(face).face.charToGlyph:
            return face
    return faces[0]


def runs(text: str, style: str = "regular") -> list[tuple[FontFace, str]]:
    """Split ``text`` into (face, substring) runs so every character has a glyph."""
    faces = chain(style)
    out: list[tuple[FontFace, str]] = []
    for ch in text:
        face = face_for(ch, faces)
        if out and out[-1][0] == face:
            out[-1] = (face, out[-1][1] + ch)
        else:
            out.append((face, ch))
    return out


def text_width(text: str, size: float, style: str = "regular") -> float:
    """Advance width of ``text`` in points at ``size`` points."""
    return float(sum(pdfmetrics.stringWidth(part, face.name, size) for face, part in runs(text, style)))


def font_file(face: FontFace) -> Path:
    """The file behind ``face`` (for the raster renderer)."""
    return find_font_file(face)
