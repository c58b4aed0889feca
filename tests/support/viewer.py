"""The on-disc viewer in Chromium: a mastered disc laid out and opened from its files, and the source of a shown image."""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmread

from publisher.demo.samples import (
    ASCII_PATIENT,
    SeriesSpec,
    StudySpec,
    as_file,
    build_study,
    demo_studies,
)
from tests.support import viewer_builders as builders
from tests.support.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium# noqa: F401  (used by tests here)


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


def source_of(disc, series_description: str, instance_number: int):  # type: ignore[no-untyped-def]
    for p in disc["content"].patients:
        for st in p.studies:
            for se in st.series:
                if se.description == series_description:
                    for inst in se.instances:
                        if inst.instance_number == instance_number:
                            return dcmread(inst.source)
    raise LookupError((series_description, instance_number))


def viewer_disc_files(tree: Path) -> list[tuple[str, Path]]:
    """The test disc's DICOM files under ``tree``: :func:`disc_studies` and the colour and
    enhanced datasets of :mod:`tests.support.viewer_builders`."""
    files = lay_out(tree, disc_studies())
    for i, ds in enumerate(builders.extra_datasets(), 1):
        rel = f"DICOM/P0000009/S{i:07d}/I0000001"
        (tree / rel).parent.mkdir(parents=True)
        as_file(ds).save_as(tree / rel, enforce_file_format=True)
        files.append((rel, tree / rel))
    return files
