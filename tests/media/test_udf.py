"""Issue 12 item 4 / acceptance 3: the UDF side of DVD and BD images, read by real peers.

PS3.12 X.2.1 asks for UDF 2.6 on BD-R (2.5 on BD-RE) and P.2.1 for UDF 1.02-2.01 (or ISO 9660)
on DVD; both images are bridges, so the ISO 9660 / Joliet side must stay readable too. The
readers: udftools ``udfinfo``, 7-Zip (its UDF and its ISO handler), UDFclient ``udfdump``,
``isoinfo``, ``xorriso``, pycdlib (our read-back verify), dicom3tools ``dciodvfy``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from publisher.media import read_manifest, verify
from tests.support.tools import dciodvfy_errors, require_tool, run
from tests.support.image_readers import extract_image, seven_zip, seven_zip_files, udfinfo










def folders_of(dests: list[str]) -> set[str]:
    return {"/".join(d.split("/")[:i]) for d in dests for i in range(1, d.count("/") + 1)}


def test_bd_image_is_udf_260_with_a_metadata_partition(bd_volume) -> None:  # type: ignore[no-untyped-def]
    info = udfinfo(bd_volume.image)
    dests = [f.dest for f in bd_volume.files]
    assert info["label"] == info["fsid"] == info["vid"] == bd_volume.file_set_id
    assert (info["udfrev"], info["udfwriterev"]) == ("2.50", "2.60")  # read by 2.50 readers (UDF 2.60 2.2.6.4)
    assert info["integrity"] == "closed" and info["accesstype"] == "readonly"
    assert int(info["numfiles"]) == len(dests)
    assert int(info["numdirs"]) == len(folders_of(dests)) + 1  # + the root
    # 7-Zip shows the Logical Volume's partition maps: Type 1 + the Metadata Partition (UDF 2.60 2.2.10)
    shown = seven_zip("l", "-tudf", bd_volume.image)
    assert "Version = 2.60" in shown
    assert re.search(r"Type: 1\s.*Type: 2\s.*PartitionTypeId: \*UDF Metadata Partition::2\.60", shown, re.S), shown
    assert "IsMetadata: 1" in shown  # 7-Zip found the Metadata File through the map


def test_dvd_image_is_udf_102_without_metadata_partition(dvd_volume) -> None:  # type: ignore[no-untyped-def]
    info = udfinfo(dvd_volume.image)
    assert (info["udfrev"], info["udfwriterev"]) == ("1.02", "1.02")  # PS3.12 P.2.1
    assert info["label"] == dvd_volume.file_set_id and info["integrity"] == "closed"
    shown = seven_zip("l", "-tudf", dvd_volume.image)
    assert "Version = 1.02" in shown and "Metadata Partition" not in shown


@pytest.mark.parametrize("kind", ["dvd", "bd"])
@pytest.mark.parametrize("handler", ["udf", "iso"])
def test_7zip_extracts_every_file_byte_identical_to_the_manifest(kind: str, handler: str, request, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    volume = request.getfixturevalue(f"{kind}_volume")
    entries = read_manifest(volume.manifest)
    listed = seven_zip_files(volume.image, handler)
    assert listed == {e.path: e.size for e in entries}
    root = extract_image(volume.image, handler, tmp_path / "x")
    for e in entries:
        data = root.joinpath(*e.path.split("/")).read_bytes()
        assert hashlib.sha256(data).hexdigest() == e.sha256, e.path
    assert {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} == {e.path for e in entries}


@pytest.mark.parametrize("kind", ["dvd", "bd"])
def test_udfdump_walks_the_whole_tree(kind: str, request) -> None:  # type: ignore[no-untyped-def]
    require_tool("udfdump")
    volume = request.getfixturevalue(f"{kind}_volume")
    out = run("udfdump", "-b", "2048", "-t", volume.image).stdout
    assert "UDF sessions : Yes" in out
    listed = {m.group(1) for m in re.finditer(r"^:Rootdir/(.*\S)\s*$", out, re.M)}
    assert listed == {f.dest for f in volume.files}


@pytest.mark.parametrize("kind", ["dvd", "bd"])
def test_iso_side_of_the_bridge_is_still_read(kind: str, request) -> None:  # type: ignore[no-untyped-def]
    require_tool("isoinfo", "xorriso")
    volume = request.getfixturevalue(f"{kind}_volume")
    dests = {f.dest for f in volume.files}
    header = run("isoinfo", "-d", "-i", volume.image).stdout
    assert f"Volume id: {volume.file_set_id}\n" in header and "Joliet with UCS level 3 found" in header
    joliet = run("isoinfo", "-J", "-f", "-i", volume.image).stdout.split()
    assert dests <= {p.lstrip("/") for p in joliet}
    plain = run("isoinfo", "-l", "-i", volume.image).stdout
    assert "DICOMDIR.;1" in plain and "README.TXT;1" in plain  # Level 1 identifiers (ECMA-119 7.5)
    out = run("xorriso", "-indev", volume.image, "-find", "/", "-type", "f").stdout
    assert {line.strip().strip("'").lstrip("/") for line in out.splitlines() if line.strip()} == dests
    assert verify(volume.image, volume.manifest).ok  # pycdlib reads it back


def test_dicomdir_from_the_udf_side_is_valid(bd_volume, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = extract_image(bd_volume.image, "udf", tmp_path / "x")
    assert dciodvfy_errors(root / "DICOMDIR") == []


def test_progress_counts_bytes_up_to_the_image_size(bd_volume, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from publisher.media.iso import write_image

    seen: list[tuple[int, int, str]] = []
    size = write_image(bd_volume.files, tmp_path / "again.iso", volume_id="AGAIN", udf="2.60",
                       progress=lambda d, t, m: seen.append((d, t, m)))
    assert size == (tmp_path / "again.iso").stat().st_size == bd_volume.size
    assert seen[-1][:2] == (size, size) and all(t == size for _d, t, _m in seen)
    assert [d for d, _t, _m in seen] == sorted(d for d, _t, _m in seen)
