"""Edge cases of the image writer, read back by the peers: empty folders and files, 8 levels,
4,000 files, names and volume identifiers outside ASCII, extents past 1 GiB and 4 GiB, bad input.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from publisher.media.image.allocation import allocate
from publisher.media.image.ecma119 import MAX_SECTION, MULTI_EXTENT_FLAG, directory
from publisher.media.image.ecma167 import MAX_EXTENT, Revision, extents
from publisher.media.image.layouts import (
    DIRECTORY_RECORD,
    EXTENDED_FILE_ENTRY,
    FILE_ENTRY,
    LONG_AD,
    SHORT_AD,
    TAG,
)
from publisher.media.image.tree import build
from publisher.media.image.udf import UdfWriter, fid_sizes
from publisher.media.iso import image_size, write_image
from publisher.media.model import DiscFile, MediaError
from tests.support.image_readers import extract_image, seven_zip_files, udfinfo
from tests.support.media_builders import disc_files
from tests.support.tools import require_tool, run

REVISIONS = ["2.60", "2.50", "1.02", None]




def image(tmp_path: Path, files: list[DiscFile], udf: str | None, **kw) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path / f"v-{udf}.iso"
    write_image(files, out, volume_id=kw.pop("volume_id", "EDGE"), udf=udf, **kw)
    return out


def isoinfo_paths(img: Path, joliet: bool) -> set[str]:
    require_tool("isoinfo")
    return {p.lstrip("/") for p in run("isoinfo", *(["-J"] if joliet else []), "-f", "-i", img).stdout.split("\n") if p}


@pytest.mark.parametrize("udf", REVISIONS)
def test_empty_folders_and_empty_files_survive(udf: str | None, tmp_path: Path) -> None:
    files = disc_files(tmp_path, {"DICOMDIR": b"D" * 3000, "EMPTY.TXT": b"", "A/B/C/NOTHING": b"", "A/X": b"x"})
    img = image(tmp_path, files, udf, folders=["IHE_PDI", "A/B/EMPTY"])
    assert image_size(files, udf=udf, folders=["IHE_PDI", "A/B/EMPTY"]) == img.stat().st_size  # planning is exact
    for handler in (["udf"] if udf else []) + ["iso"]:
        root = extract_image(img, handler, tmp_path / f"x-{handler}")
        assert (root / "IHE_PDI").is_dir() and not any((root / "IHE_PDI").iterdir())
        assert (root / "A" / "B" / "EMPTY").is_dir()
        assert (root / "EMPTY.TXT").stat().st_size == 0 and (root / "A/B/C/NOTHING").stat().st_size == 0
        assert (root / "DICOMDIR").read_bytes() == b"D" * 3000
    assert {"IHE_PDI", "A/B/EMPTY", "A/B/C/NOTHING"} <= isoinfo_paths(img, joliet=True)
    if udf:
        info = udfinfo(img)
        assert (info["numfiles"], info["numdirs"]) == ("4", "6")  # root, IHE_PDI, A, A/B, A/B/C, A/B/EMPTY


@pytest.mark.parametrize("udf", ["2.60", None])
def test_eight_levels_are_recorded_and_a_ninth_is_refused(udf: str | None, tmp_path: Path) -> None:
    deep = "L1/L2/L3/L4/L5/L6/L7/FILE"  # 8 components: root + 7 folders (ECMA-119 6.8.2.1, PS3.10 8.2)
    files = disc_files(tmp_path, {deep: b"deep"})
    img = image(tmp_path, files, udf)
    assert deep in isoinfo_paths(img, joliet=False) | isoinfo_paths(img, joliet=True)
    assert seven_zip_files(img, udf and "udf" or "iso") == {deep: 4}
    too_deep = disc_files(tmp_path / "9", {"L1/L2/L3/L4/L5/L6/L7/L8/FILE": b"x"})
    with pytest.raises(MediaError, match="more than 8 directory levels"):
        image(tmp_path, too_deep, udf)


def test_four_thousand_files_in_big_and_many_folders(tmp_path: Path) -> None:
    """Directories over many blocks/sectors: FIDs and ISO records across boundaries."""
    content = {f"BIG/IM{i:06d}": f"{i}".encode() * (1 + i % 7) for i in range(2000)}
    content |= {f"DICOM/P{i % 40:07d}/IM{i:06d}": b"y" * (i % 300) for i in range(1500)}
    # 44-byte FIDs: some end 4-12 bytes before a block boundary, so the next tag would straddle
    # it; those carry a 32-byte implementation use instead (UDF 2.60 2.3.4.4)
    content |= {f"SMALL/F{i:04d}": b"s" for i in range(500)}
    assert any(iu for iu, _size in fid_sizes([0] + [6] * 500))
    files = disc_files(tmp_path, content)
    img = image(tmp_path, files, "2.60")
    assert int(udfinfo(img)["numfiles"]) == 4000
    expected = {k: len(v) for k, v in content.items()}
    assert seven_zip_files(img, "udf") == expected  # 7-Zip checks every tag CRC and FID padding
    assert seven_zip_files(img, "iso") == expected
    require_tool("udfdump")
    dumped = run("udfdump", "-b", "2048", "-t", img).stdout.count("\n:Rootdir/")
    assert dumped == 4000


def test_non_ascii_names_in_joliet_and_udf_and_a_unicode_volume_id(tmp_path: Path) -> None:
    names = {"VIEWER/Ärzte-Übersicht.txt": b"1", "VIEWER/日本語の説明.txt": b"22", "README.TXT": b"333"}
    files = disc_files(tmp_path, names)
    img = image(tmp_path, files, "2.60", volume_id="Klinik Süd 日本")
    assert seven_zip_files(img, "udf") == {k: len(v) for k, v in names.items()}
    assert seven_zip_files(img, "iso") == {k: len(v) for k, v in names.items()}  # Joliet, UCS-2
    latin1 = subprocess.run(["isoinfo", "-J", "-j", "iso8859-1", "-f", "-i", str(img)], capture_output=True, check=True).stdout
    assert "/VIEWER/Ärzte-Übersicht.txt".encode("latin-1") in latin1
    plain = isoinfo_paths(img, joliet=False)  # ISO 9660 Level 1: folded, 8.3, unique
    assert all(p.isascii() and p == p.upper() for p in plain) and "README.TXT;1" in plain
    info = udfinfo(img)
    assert info["label"] == info["fsid"] == "Klinik Süd 日本"  # OSTA CS0, 16-bit
    assert "Volume id: KLINIK_S_D___" in run("isoinfo", "-d", "-i", img).stdout
    root = extract_image(img, "udf", tmp_path / "x")
    assert (root / "VIEWER" / "日本語の説明.txt").read_bytes() == b"22"


def test_a_file_past_4_gib_gets_udf_extents_under_1_gib_and_iso_file_sections(tmp_path: Path) -> None:
    """Laid out, not written (a 5 GiB source is not needed to check the descriptors)."""
    size = 5 * 1024**3 + 12345
    tree = build([DiscFile("DICOMDIR", tmp_path / "none", 10), DiscFile("DICOM/BIG", tmp_path / "none", size)])
    alloc = allocate(tree, Revision(0x0260))
    big = tree.files[1]
    fe = dict(UdfWriter(alloc.udf, "BIG", __import__("datetime").datetime.now()).metadata(tree))[big.fe]  # type: ignore[arg-type]
    head = EXTENDED_FILE_ENTRY.unpack(fe)
    assert head["info_length"] == size and TAG.unpack(fe)["ident"] == 266
    ads = [LONG_AD.unpack(fe, 216 + 16 * i) for i in range(head["ad_length"] // 16)]
    assert sum(a["length"] for a in ads) == size and all(a["length"] <= MAX_EXTENT for a in ads)
    assert all(a["length"] % 2048 == 0 for a in ads[:-1]) and {a["partition"] for a in ads} == {0}
    assert [a["lbn"] for a in ads] == [ads[0]["lbn"] + i * (MAX_EXTENT // 2048) for i in range(len(ads))]
    assert ads[0]["lbn"] + alloc.udf.start == big.lba  # type: ignore[union-attr]
    # ISO 9660: File Sections of at most 4 GiB - 2 KiB, all but the last flagged multi-extent
    dicom = tree.root.children[0]
    raw = directory(dicom, "iso", bytes(7))
    recs, at = [], 0
    while at < len(raw) and raw[at]:
        recs.append(DIRECTORY_RECORD.unpack(raw, at))
        at += raw[at]
    sections = recs[2:]
    assert [r["size"] for r in sections] == [MAX_SECTION, size - MAX_SECTION]
    assert [r["flags"] & MULTI_EXTENT_FLAG for r in sections] == [MULTI_EXTENT_FLAG, 0]
    assert sections[1]["extent"] == sections[0]["extent"] + MAX_SECTION // 2048 == big.lba + MAX_SECTION // 2048
    assert extents(MAX_EXTENT + 1) == [(0, MAX_EXTENT), (MAX_EXTENT // 2048, 1)]


def test_udf_102_records_file_entries_with_short_ads(tmp_path: Path) -> None:
    tree = build([DiscFile("A", tmp_path / "none", 3 * 1024**3)])
    alloc = allocate(tree, Revision(0x0102))
    fe = dict(UdfWriter(alloc.udf, "V", __import__("datetime").datetime.now()).metadata(tree))[tree.files[0].fe]  # type: ignore[arg-type]
    head = FILE_ENTRY.unpack(fe)
    assert TAG.unpack(fe)["ident"] == 261 and TAG.unpack(fe)["version"] == 2
    ads = [SHORT_AD.unpack(fe, 176 + 8 * i) for i in range(head["ad_length"] // 8)]
    assert sum(a["length"] for a in ads) == 3 * 1024**3 and len(ads) == 4


def test_bad_input_is_refused_and_leaves_nothing_behind(tmp_path: Path) -> None:
    files = disc_files(tmp_path, {"DICOMDIR": b"d", "A/B": b"b"})
    out = tmp_path / "v.iso"
    out.write_bytes(b"the previous image")
    with pytest.raises(MediaError, match="recorded twice"):
        write_image(files + files[:1], out, volume_id="X", udf="2.60")
    with pytest.raises(MediaError, match="both a file and a folder"):
        write_image(files + disc_files(tmp_path / "2", {"A/B/C": b"c"}), out, volume_id="X", udf="2.60")
    with pytest.raises(MediaError, match="not one we write"):
        write_image(files, out, volume_id="X", udf="3.00")
    changed = [files[0], DiscFile("A/B", files[1].source, 5)]  # the source is 1 byte, 5 were planned
    with pytest.raises(MediaError, match="A/B: .* is 1 bytes, 5 were planned"):
        write_image(changed, out, volume_id="X", udf="2.60")
    assert out.read_bytes() == b"the previous image" and not list(tmp_path.glob("*.part"))


def test_files_keep_the_order_given_and_share_one_copy(tmp_path: Path) -> None:
    content = {"DICOMDIR": os.urandom(5000), "README.TXT": os.urandom(300), "DICOM/P1/IM2": os.urandom(9000),
               "DICOM/P1/IM1": os.urandom(200)}
    files = disc_files(tmp_path, content)
    img = image(tmp_path, files, "2.60")
    data = img.read_bytes()
    offsets = [data.find(v) for v in content.values()]
    assert offsets == sorted(offsets) and all(o % 2048 == 0 for o in offsets)
    assert all(data.count(v) == 1 for v in content.values())  # one copy for three name spaces
    root = extract_image(img, "iso", tmp_path / "iso")
    assert {k: hashlib.sha256((root / k).read_bytes()).hexdigest() for k in content} == {
        k: hashlib.sha256(v).hexdigest() for k, v in content.items()}


def test_images_are_the_same_where_the_kernel_cannot_copy_between_files(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """sendfile and copy_file_range refused (e.g. across file system types): read/write instead."""
    import errno

    content = {"DICOMDIR": os.urandom(3000), "DICOM/P1/IM1": os.urandom(300_000), "DICOM/P1/IM2": os.urandom(200_000)}
    files = disc_files(tmp_path, content)
    fast = image(tmp_path, files, "2.60", when=__import__("datetime").datetime(2026, 1, 2, 3, 4, 5))

    def refuse(*_a: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "sendfile", refuse)
    monkeypatch.setattr(os, "copy_file_range", refuse)
    slow = tmp_path / "slow.iso"
    write_image(files, slow, volume_id="EDGE", udf="2.60", when=__import__("datetime").datetime(2026, 1, 2, 3, 4, 5))
    # same bytes except the Volume Set Identifier's random part (UDF 2.60 2.2.2.5) and its CRCs
    a, b = fast.read_bytes(), slow.read_bytes()
    differ = {i // 2048 for i in range(len(a)) if a[i] != b[i]} if len(a) == len(b) else None
    assert differ is not None and differ <= {32, 48}  # the two Primary Volume Descriptors
    assert seven_zip_files(slow, "udf") == {k: len(v) for k, v in content.items()}


@pytest.mark.parametrize("udf", ["2.60", "1.02", None])
def test_the_planners_per_file_allowance_covers_what_the_image_records(udf: str | None, tmp_path: Path) -> None:
    """publisher.media.plan budgets each file; the image must not require_tool more (else a planned
    volume overflows its medium after mastering)."""
    from publisher.media import plan

    def size(n: int) -> int:
        return image_size([DiscFile(f"DICOM/P0000001/IM{i:06d}", tmp_path / "x", 1) for i in range(n)], udf=udf)

    per_file = (size(3000) - size(1000)) / 2000 - 2048  # beyond the file's own data sector
    iso_joliet = 128  # the part of plan.FILE_OVERHEAD for the ISO 9660 + Joliet records
    assert per_file <= iso_joliet + (plan.UDF_FILE_OVERHEAD if udf else 0)
