"""Fixtures for the on-disc viewer: a mastered and extracted disc tree, and Chromium.

The disc is made the way a user gets it: DICOM files and the viewer are written into a tree,
mastered into an ISO 9660 image (level 1 names, as on a PDI CD) by ``publisher.media.iso``, and the image's
files are extracted again; the browser opens the extracted tree by ``file://`` URL with default
settings (no flag that loosens file access).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.demo.samples import (
    ASCII_PATIENT,
    SeriesSpec,
    StudySpec,
    as_file,
    build_study,
    demo_studies,
)
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium  # noqa: F401  (used by tests here)
from tests.viewer import builders
from viewer_bundle import content_from_files, write_viewer, writer

def disc_studies() -> list[StudySpec]:
    """Demo patients (Latin-1, Cyrillic, CJK; CT, SR, MR, PDF, CR MONOCHROME1, US RGB cine)."""
    return demo_studies(ct_slices=24) + [
        StudySpec(ASCII_PATIENT, "mr-large", "Large MR", "20260310", series=(SeriesSpec("mr", 3, 1, "Big", 256, 192),)),
    ]


def lay_out(root: Path, studies: list[StudySpec]) -> list[tuple[str, Path]]:
    """Write ``studies`` as PS3.10 files with File IDs ``DICOM/Pnnnnnnn/Snnnnnnn/Innnnnnn``."""
    files = []
    n = 0
    for pi, study in enumerate(studies, 1):
        series_no: dict[str, int] = {}
        for ds in build_study(study):
            n += 1
            s = series_no.setdefault(str(ds.SeriesInstanceUID), len(series_no) + 1)
            rel = f"DICOM/P{pi:07d}/S{s:07d}/I{n:07d}"
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            as_file(ds).save_as(path, enforce_file_format=True)
            files.append((rel, path))
    return files


def disc_files(tree: Path) -> list[tuple[str, Path]]:
    """The test disc's DICOM files under ``tree``: :func:`disc_studies` and the colour and
    enhanced datasets of :mod:`tests.viewer.builders`."""
    files = lay_out(tree, disc_studies())
    for i, ds in enumerate(builders.extra_datasets(), 1):
        rel = f"DICOM/P0000009/S{i:07d}/I0000001"
        (tree / rel).parent.mkdir(parents=True)
        as_file(ds).save_as(tree / rel, enforce_file_format=True)
        files.append((rel, tree / rel))
    return files


ROOT_INDEX = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Disc</title></head>
<body><p><a href="VIEWER/INDEX.HTM">View the images</a></p></body></html>
"""


def master_and_extract(tree: Path, out: Path) -> None:
    """ISO 9660 level 1 image of ``tree`` written by the media engine's writer (as on a PDI CD),
    extracted again by its ISO 9660 names."""
    import pycdlib

    from publisher.media.iso import write_image
    from publisher.media.model import DiscFile

    files = [DiscFile(p.relative_to(tree).as_posix(), p, p.stat().st_size) for p in sorted(tree.rglob("*")) if p.is_file()]
    image = out.parent / "disc.iso"
    write_image(files, image, volume_id="VIEWER")
    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    for dirname, _dirs, filenames in iso.walk(iso_path="/"):
        for fname in filenames:
            iso_path = f"{dirname.rstrip('/')}/{fname}"
            clean = iso_path.split(";")[0].rstrip(".")
            target = out / clean.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:
                iso.get_file_from_iso_fp(fh, iso_path=iso_path)
    iso.close()


@pytest.fixture(scope="session")
def disc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The extracted disc tree with its file list and the viewer result."""
    base = tmp_path_factory.mktemp("viewer_disc")
    tree = base / "tree"
    files = disc_files(tree)
    content = content_from_files(files, label="TEST", institution="Sample Hospital")
    # small chunks, so that scrolling crosses chunk files as on a large study
    old = writer.CHUNK_FRAMES
    writer.CHUNK_FRAMES = 10
    try:
        result = write_viewer(content, tree)
    finally:
        writer.CHUNK_FRAMES = old
    (tree / "INDEX.HTM").write_text(ROOT_INDEX, "utf-8")
    extracted = base / "extracted"
    master_and_extract(tree, extracted)
    return {"root": extracted, "tree": tree, "files": files, "content": content, "result": result}


def open_viewer(chromium: object, disc: dict[str, object], locale: str = "en-US") -> tuple[object, object]:
    """(context, page) on the extracted disc's viewer in a browser of ``locale``, first image shown."""
    context = chromium.new_context(locale=locale, viewport={"width": 1200, "height": 760})  # type: ignore[attr-defined]
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto((disc["root"] / "VIEWER" / "INDEX.HTM").as_uri())  # type: ignore[operator]
    pg.wait_for_function("window.DV && DV.shown", timeout=20_000)
    pg.errors = errors
    return context, pg


@pytest.fixture
def viewer(chromium: object, disc: dict[str, object]) -> Iterator[object]:
    """A fresh English page on the extracted disc's viewer; fails on any page error."""
    context, pg = open_viewer(chromium, disc)
    yield pg
    context.close()
    assert not pg.errors, pg.errors  # type: ignore[attr-defined]
