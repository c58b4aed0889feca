"""Acceptance 3: the local drive burns to ``xorriso -outdev stdio:FILE``, verifies by
reading back, and detects a corrupted byte."""
from __future__ import annotations

from pathlib import Path

import pytest

from robot_drivers import DriveFailure, RobotOffline, VerifyFailure, create
from robot_drivers.drive import XorrisoDrive
from robot_drivers.manifest import ImageManifest, iso_volume_size
from tests.support.tools import require_tool


def test_burn_to_stdio_pseudo_drive_and_verify(tmp_path: Path, iso_image: Path) -> None:
    require_tool("xorriso")
    disc = tmp_path / "disc.img"
    robot = create("local", outdev=f"stdio:{disc}", lock_dir=tmp_path / "locks")
    result = robot.burn(iso_image, 1, speed=4)
    manifest = ImageManifest.of(iso_image)
    assert result.discs[0].ok and result.discs[0].sha256 == manifest.sha256
    assert iso_volume_size(disc) == manifest.size
    assert disc.read_bytes()[: manifest.size] == iso_image.read_bytes()


def test_verify_detects_one_corrupted_byte(tmp_path: Path, iso_image: Path) -> None:
    require_tool("xorriso")
    disc = tmp_path / "disc.img"
    drive = XorrisoDrive(f"stdio:{disc}")
    drive.write(iso_image)
    manifest = ImageManifest.of(iso_image)
    assert drive.verify(manifest) == manifest.sha256
    offset = manifest.size - 3000
    data = bytearray(disc.read_bytes())
    data[offset] ^= 0x01
    disc.write_bytes(bytes(data))
    with pytest.raises(VerifyFailure, match=f"at byte {offset} ") as info:
        drive.verify(manifest)
    assert f"sector {offset // 2048}" in str(info.value)


def test_short_readback_is_a_verify_failure(tmp_path: Path, iso_image: Path) -> None:
    disc = tmp_path / "disc.img"
    disc.write_bytes(iso_image.read_bytes()[:4096])
    with pytest.raises(VerifyFailure, match="read back 4096"):
        XorrisoDrive(f"stdio:{disc}").verify(ImageManifest.of(iso_image))


def test_unwritable_drive_is_a_drive_failure(tmp_path: Path, iso_image: Path) -> None:
    require_tool("xorriso")
    bad = tmp_path / "not-a-disc"
    bad.mkdir()
    with pytest.raises(DriveFailure, match="write failed"):
        XorrisoDrive(f"stdio:{bad}").write(iso_image)


def test_missing_drive_is_offline(tmp_path: Path, iso_image: Path) -> None:
    robot = create("local", outdev=f"stdio:{tmp_path}/nowhere/disc.img",
                   lock_dir=tmp_path / "locks")
    assert robot.status().online is False
    with pytest.raises(RobotOffline):
        robot.burn(iso_image, 1)
