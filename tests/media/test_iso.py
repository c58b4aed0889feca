"""Acceptance 2: images read by isoinfo (ISO 9660 + Joliet), xorriso and udfinfo; extraction
byte-identical to the manifest; read-back verify reports the first difference."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from publisher.media import MediaType, master, read_manifest, verify
from publisher.media.iso import iso_names
from tests.support.media_builders import extract_volume
from tests.support.tools import require_tool, run
from tests.support.image_readers import isoinfo_files




def test_isoinfo_lists_every_file_in_iso9660_and_joliet(cd_volume) -> None:
    expected = {f.dest for f in cd_volume.files}
    plain = isoinfo_files(cd_volume.image, joliet=False)
    assert set(plain) == expected
    assert set(isoinfo_files(cd_volume.image, joliet=True)) == expected
    header = run("isoinfo", "-d", "-i", cd_volume.image).stdout
    assert f"Volume id: {cd_volume.file_set_id}\n" in header
    raw = run("isoinfo", "-l", "-i", cd_volume.image).stdout
    assert "DICOMDIR.;1" in raw and "README.TXT;1" in raw  # ECMA-119 7.5 identifiers


def test_files_on_disc_small_first_then_dicomdir_order(cd_volume) -> None:
    extents = isoinfo_files(cd_volume.image, joliet=False)
    order = [f.dest for f in cd_volume.files]
    small = [d for d in order if not d.startswith("DICOM/")]
    dicom = [d for d in order if d.startswith("DICOM/")]
    assert max(extents[d] for d in small) < min(extents[d] for d in dicom)
    assert [extents[d] for d in dicom] == sorted(extents[d] for d in dicom)
    assert extents["DICOMDIR"] == min(extents.values())


def test_xorriso_finds_every_file(cd_volume) -> None:
    require_tool("xorriso")
    out = run("xorriso", "-indev", cd_volume.image, "-find", "/", "-type", "f").stdout
    found = {line.strip().strip("'").lstrip("/") for line in out.splitlines() if line.strip()}
    assert found == {f.dest for f in cd_volume.files}


@pytest.mark.parametrize(("kind", "read_rev", "write_rev"), [("dvd", "1.02", "1.02"), ("bd", "2.50", "2.60")])
def test_udfinfo_reads_dvd_and_bd_images(kind: str, read_rev: str, write_rev: str, request) -> None:  # type: ignore[no-untyped-def]
    require_tool("udfinfo", "isoinfo")
    volume = request.getfixturevalue(f"{kind}_volume")
    out = run("udfinfo", volume.image).stdout
    assert f"label={volume.file_set_id}" in out
    info = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert int(info["numfiles"]) == len(volume.files)
    # PS3.12 P.2.1: DVD in UDF 1.02; X.2.1: BD-R in UDF 2.60, whose Minimum UDF Read Revision
    # is 2.50 (no Pseudo OverWrite structures) - udfinfo's "udfrev" is that minimum.
    assert (info["udfrev"], info["udfwriterev"]) == (read_rev, write_rev)
    assert set(isoinfo_files(volume.image, joliet=True)) == {f.dest for f in volume.files}


def test_extracted_files_are_byte_identical_to_the_manifest(cd_volume, tmp_path: Path) -> None:
    root = extract_volume(cd_volume, tmp_path / "x")
    entries = read_manifest(cd_volume.manifest)
    assert len(entries) == len(cd_volume.files)
    for e in entries:
        data = root.joinpath(*e.path.split("/")).read_bytes()
        assert len(data) == e.size and hashlib.sha256(data).hexdigest() == e.sha256, e.path
    on_disc = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert on_disc == {e.path for e in entries}


def test_verify_reads_back_and_reports_first_difference(dvd_volume, tmp_path: Path) -> None:
    assert verify(dvd_volume.image, dvd_volume.manifest).ok
    broken = tmp_path / "broken.iso"
    shutil.copyfile(dvd_volume.image, broken)
    entries = read_manifest(dvd_volume.manifest)
    victim = next(e for e in entries if e.path.startswith("DICOM/"))
    # find the victim's data in the image and flip one byte 200 bytes into it
    data = bytearray(broken.read_bytes())
    source = Path(victim.source).read_bytes()
    at = data.find(source[:4096])
    assert at > 0
    data[at + 200] ^= 0xFF
    broken.write_bytes(data)
    result = verify(broken, dvd_volume.manifest)
    assert not result.ok
    assert victim.path in result.first_difference and "offset 200" in result.first_difference


def test_folder_output_for_usb_verifies(acceptance, tmp_path: Path) -> None:
    volumes = master(acceptance[0], MediaType.USB, tmp_path)
    (vol,) = volumes
    assert vol.image is None and (vol.root / "DICOMDIR").is_file()
    assert verify(vol.root, vol.manifest).ok
    f = next(p for p in (vol.root / "DICOM").rglob("*") if p.is_file())
    f.write_bytes(f.read_bytes()[:-1])
    assert "size" in verify(vol.root, vol.manifest).first_difference


def test_non_iso_names_are_folded_to_level1_and_unique() -> None:
    names = iso_names(["VIEWER/index.html", "VIEWER/index.htm", "VIEWER/lib/some-long-name.min.js", "DICOMDIR"])
    assert names["DICOMDIR"] == "/DICOMDIR.;1"
    assert names["VIEWER/index.html"] == "/VIEWER/INDEX.HTM;1"
    assert names["VIEWER/index.htm"] == "/VIEWER/INDEX_1.HTM;1"
    assert names["VIEWER/lib/some-long-name.min.js"] == "/VIEWER/LIB/SOME_LON.JS;1"


def test_progress_reports_bytes_up_to_the_total(acceptance, tmp_path: Path) -> None:
    seen: list[tuple[int, int, str]] = []
    master(acceptance[0], "cd", tmp_path, progress=lambda d, t, m: seen.append((d, t, m)))
    assert seen and seen[-1][0] == seen[-1][1] > 0
    assert all(d <= t for d, t, _ in seen if t)
