"""The viewer works from a BD image's UDF side: the tree 7-Zip extracts through UDF 2.60 opens
in Chromium by file:// URL and shows its first image, as from a CD's ISO 9660 side."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.media.iso import write_image
from publisher.media.model import DiscFile
from publisher.demo.samples import ASCII_PATIENT, SeriesSpec, StudySpec
from tests.support.image_readers import extract_image
from tests.support.viewer import ROOT_INDEX, lay_out, open_viewer
from viewer_bundle import content_from_files, write_viewer

pytestmark = [pytest.mark.interop]


@pytest.mark.parametrize("udf", ["2.60", "1.02"])
def test_viewer_opens_from_the_udf_tree(udf: str, chromium: object, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    study = StudySpec(ASCII_PATIENT, "ct", "CT", "20260105", series=(SeriesSpec("ct", 3, 1, "Axial", 64, 64),))
    dicom = lay_out(tree, [study])
    result = write_viewer(content_from_files(dicom, label="UDF", institution="Sample Hospital"), tree)
    (tree / "INDEX.HTM").write_text(ROOT_INDEX, "utf-8")
    others = sorted(p for p in tree.rglob("*") if p.is_file() and not p.relative_to(tree).as_posix().startswith("DICOM/"))
    files = [DiscFile(p.relative_to(tree).as_posix(), p, p.stat().st_size) for p in others]
    files += [DiscFile(rel, p, p.stat().st_size) for rel, p in dicom]
    image = tmp_path / "disc.iso"
    write_image(files, image, volume_id="UDFVIEW", udf=udf)
    root = extract_image(image, "udf", tmp_path / "x")
    assert (root / result.start_page).is_file()
    context, page = open_viewer(chromium, {"root": root})
    try:
        assert page.evaluate("DV.shown.key")  # type: ignore[attr-defined]
        assert not page.errors, page.errors  # type: ignore[attr-defined]
    finally:
        context.close()  # type: ignore[attr-defined]
