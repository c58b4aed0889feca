"""Fixtures for the on-disc viewer: a mastered and extracted disc tree, and Chromium.

The disc is made the way a user gets it: DICOM files and the viewer are written into a tree,
mastered into an ISO 9660 image (level 1 names, as on a PDI CD) by ``publisher.media.iso``, and the image's
files are extracted again; the browser opens the extracted tree by ``file://`` URL with default
settings (no flag that loosens file access).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium# noqa: F401  (used by tests here)
from viewer_bundle import content_from_files, write_viewer, writer
from tests.support.viewer import ROOT_INDEX, master_and_extract, open_viewer, viewer_disc_files









@pytest.fixture(scope="session")
def disc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The extracted disc tree with its file list and the viewer result."""
    base = tmp_path_factory.mktemp("viewer_disc")
    tree = base / "tree"
    files = viewer_disc_files(tree)
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




@pytest.fixture
def viewer(chromium: object, disc: dict[str, object]) -> Iterator[object]:
    """A fresh English page on the extracted disc's viewer; fails on any page error."""
    context, pg = open_viewer(chromium, disc)
    yield pg
    context.close()
    assert not pg.errors, pg.errors  # type: ignore[attr-defined]
