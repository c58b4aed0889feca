"""Pixels encoded on several threads and kept in the cache: the disc's bytes never change."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread

from publisher.demo.samples import ASCII_PATIENT, SeriesSpec, StudySpec, as_file, build_study
from tests.support.viewer import viewer_disc_files as disc_files
from viewer_bundle import DiscContent, FrameCache, Instance, content_from_files, estimate_parts, write_viewer, writer


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    """The demo disc's files (CT, MR, CR, US cine, SR, PDF; YBR, palette, enhanced CT)."""
    return disc_files(tmp_path_factory.mktemp("encode"))


def _content(files: list[tuple[str, Path]], bad: Path | None = None) -> DiscContent:
    """``files`` as a disc; ``bad`` (an unreadable file) inserted in the middle of the CT series."""
    content = content_from_files(files)
    if bad is not None:
        ct = max((se for p in content.patients for st in p.studies for se in st.series), key=lambda se: len(se.instances))
        ct.instances.insert(len(ct.instances) // 3, Instance("DICOM/BAD", bad, ct.instances[0].sop_class_uid, "1.2.3.9", 99))
    return content


def test_parallel_writes_the_bytes_of_the_serial_path(sources: list[tuple[str, Path]], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer, "CHUNK_FRAMES", 5)  # instances cross chunk files
    bad = tmp_path / "BAD"
    bad.write_bytes(b"not dicom")
    content = _content(sources, bad)
    serial = write_viewer(content, tmp_path / "serial", workers=1)
    parallel = write_viewer(content, tmp_path / "parallel", workers=4)
    assert parallel.files == serial.files and parallel.size == serial.size
    assert parallel.skipped == serial.skipped and len(serial.skipped) == 1 and "DICOM/BAD" in serial.skipped[0]
    assert _tree(tmp_path / "parallel") == _tree(tmp_path / "serial")


def test_second_disc_comes_from_the_cache_byte_for_byte(sources: list[tuple[str, Path]], tmp_path: Path) -> None:
    content = _content(sources)
    plain = write_viewer(content, tmp_path / "plain")
    cache = FrameCache(tmp_path / "cache")
    write_viewer(content, tmp_path / "first", cache=cache)
    entries = sorted((tmp_path / "cache").rglob("*.dvc"))
    assert cache.hits == 0 and len(entries) == cache.misses > 10
    write_viewer(content, tmp_path / "second", cache=cache)
    assert cache.hits == len(entries)  # no pixel encoded again
    assert _tree(tmp_path / "first") == _tree(tmp_path / "second") == _tree(tmp_path / "plain")
    assert not plain.skipped


def test_estimate_from_the_cache_is_the_estimate(sources: list[tuple[str, Path]], tmp_path: Path) -> None:
    content = _content(sources)
    cache = FrameCache(tmp_path / "cache")
    fresh = estimate_parts(content)
    assert estimate_parts(content, cache) == fresh and cache.hits == 0
    notes = sorted((tmp_path / "cache").rglob("*.dvn"))
    assert estimate_parts(content, cache) == fresh and cache.hits == len(notes) > 5  # no sample read again
    notes[0].write_bytes(notes[0].read_bytes().replace(b'"record":', b'"record":1'))
    assert estimate_parts(content, cache) == fresh and cache.damaged == 1


def test_damaged_entry_is_detected_and_made_again(sources: list[tuple[str, Path]], tmp_path: Path) -> None:
    content = _content(sources)
    cache = FrameCache(tmp_path / "cache")
    write_viewer(content, tmp_path / "first", cache=cache)
    entries = sorted((tmp_path / "cache").rglob("*.dvc"))
    flipped = bytearray(entries[0].read_bytes())
    flipped[-100] ^= 0x01  # one bit in the base64 text
    entries[0].write_bytes(bytes(flipped))
    entries[1].write_bytes(entries[1].read_bytes()[:-7])  # torn write
    entries[2].write_bytes(b"garbage")
    os.replace(entries[4], entries[3])  # another instance's entry under this name
    write_viewer(content, tmp_path / "second", cache=cache)
    assert cache.damaged == 4
    assert _tree(tmp_path / "second") == _tree(tmp_path / "first")
    hits = cache.hits
    write_viewer(content, tmp_path / "third", cache=cache)
    assert cache.hits - hits == len(entries) and cache.damaged == 4  # the entries were made again, whole


def _ct(root: Path, slices: int, key: str) -> list[tuple[str, Path]]:
    spec = StudySpec(ASCII_PATIENT, key, series=(SeriesSpec("ct", slices, 1, "", 32, 32),))
    files = []
    for n, ds in enumerate(build_study(spec), 1):
        path = root / key / f"I{n:07d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        as_file(ds).save_as(path, enforce_file_format=True)
        files.append((f"DICOM/{key.upper()}/I{n:07d}", path))
    return files


def _invert(path: Path) -> None:
    ds = dcmread(path)
    ds.PixelData = (-np.frombuffer(ds.PixelData, np.int16)).astype(np.int16).tobytes()
    ds.save_as(path)


def test_changed_file_is_encoded_again(tmp_path: Path) -> None:
    files = _ct(tmp_path / "src", 3, "a")
    cache = FrameCache(tmp_path / "cache")
    write_viewer(content_from_files(files), tmp_path / "first", cache=cache)
    _invert(files[1][1])  # same SOP Instance UID and size, other pixels
    changed = content_from_files(files)
    write_viewer(changed, tmp_path / "cached", cache=cache)
    write_viewer(changed, tmp_path / "fresh")
    assert _tree(tmp_path / "cached") == _tree(tmp_path / "fresh") != _tree(tmp_path / "first")
    # the index's SHA-256 identifies the content when given: a new one means a new entry
    for inst in changed.instances():
        inst.content_id = "sha256-of-the-index"
    misses = cache.misses
    write_viewer(changed, tmp_path / "by_id", cache=cache)
    assert cache.misses - misses == 3 and _tree(tmp_path / "by_id") == _tree(tmp_path / "fresh")


def test_cache_is_bounded_least_recently_used_first(tmp_path: Path) -> None:
    old, new = content_from_files(_ct(tmp_path / "src", 4, "old")), content_from_files(_ct(tmp_path / "src", 4, "new"))
    cache = FrameCache(tmp_path / "cache")
    write_viewer(old, tmp_path / "d1", cache=cache)
    for entry in (tmp_path / "cache").rglob("*.dvc"):
        os.utime(entry, (1_000_000, 1_000_000))  # used long ago
    first = cache.size()
    write_viewer(new, tmp_path / "d2", cache=cache)
    assert cache.prune(cache.size() - first) == first  # exactly the old disc's entries
    hits = cache.hits
    write_viewer(new, tmp_path / "d3", cache=cache)
    assert cache.hits - hits == 4  # the recent disc's entries stayed
    misses = cache.misses
    write_viewer(old, tmp_path / "d4", cache=cache)
    assert cache.misses - misses == 4
    bounded = FrameCache(tmp_path / "cache", max_bytes=first)
    third = content_from_files(_ct(tmp_path / "src", 4, "third"))
    write_viewer(third, tmp_path / "d5", cache=bounded)  # a disc that adds entries prunes to the bound
    assert bounded.added == 4 and bounded.size() <= first
    bounded.purge()
    assert bounded.size() == 0
