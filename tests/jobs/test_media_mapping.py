"""Every media type of the service maps to a robot's blank (or is written as a folder), BD-R DL
included, and every robot either burns each blank or refuses it by name before touching it."""

from __future__ import annotations

from pathlib import Path

import pytest
import robot_drivers
from robot_drivers import Blank, JobRejected

from publisher.jobs.disc_job import BLANKS, FOLDER_MEDIA, ROBOT_MEDIA
from publisher.media import MediaType


def test_the_blank_mapping_is_total_over_the_service_media_types() -> None:
    for media in MediaType:
        assert media in BLANKS, f"{media} has no entry: a blank, or None for a folder"
        assert (BLANKS[media] is None) == (not media.is_image), media
    assert set(BLANKS) == set(MediaType)


def test_every_service_media_type_maps_or_is_a_folder() -> None:
    for media in MediaType:
        assert (media in ROBOT_MEDIA) != (media in FOLDER_MEDIA), media
        assert (media in ROBOT_MEDIA) == media.is_image, media
    assert ROBOT_MEDIA[MediaType.BD_DL] is Blank.BD_R_DL and ROBOT_MEDIA[MediaType.BD] is Blank.BD_R
    assert ROBOT_MEDIA[MediaType.DVD_DL] is Blank.DVD_R_DL
    assert ROBOT_MEDIA["bd-dl"] is Blank.BD_R_DL, "the job row's value finds its blank"  # type: ignore[index]
    assert set(ROBOT_MEDIA.values()) == set(Blank), "every blank a robot can load is used"
    assert len(set(ROBOT_MEDIA.values())) == len(ROBOT_MEDIA), "no two media share a blank"


def _robots(tmp: Path) -> dict[str, robot_drivers.Robot]:
    share = "\\\\ROBOT-PC\\Jobs"
    hot = {"robot_job_folder": share, "lock_dir": tmp / "locks"}
    return {
        "simulator": robot_drivers.create("simulator", time_scale=0, lock_dir=tmp / "locks"),
        "local": robot_drivers.create("local", outdev=f"stdio:{tmp / 'disc'}", media_types=["CD-R", "DVD-R"],
                                      lock_dir=tmp / "locks"),
        "serial": robot_drivers.create("serial", port="/dev/null", drives=["/dev/sr0"], lock_dir=tmp / "locks"),
        "primera": robot_drivers.create("primera", job_folder=tmp / "p", **hot),
        "epson": robot_drivers.create("epson", job_folder=tmp / "e", media_types=["CD-R", "DVD-R", "DVD-R DL"],
                                      **hot),
        "rimage": robot_drivers.create("rimage", experimental=True, job_folder=tmp / "r", **hot),
    }


def test_every_robot_burns_or_refuses_each_blank_by_name(tmp_path: Path) -> None:
    image = tmp_path / "x.iso"
    image.write_bytes(b"\0" * 2048)
    robots = _robots(tmp_path)
    assert set(robots) == set(robot_drivers.kinds(experimental=True))
    for kind, robot in robots.items():
        loads = robot.capabilities().media_types
        for blank in Blank:
            if blank in loads:
                continue
            with pytest.raises(JobRejected, match=blank.value) as info:
                robot.burn(image, 1, media=blank)
            assert kind in str(info.value) or robot.name in str(info.value) or "TD Bridge" in str(info.value)
    assert Blank.BD_R_DL in robots["simulator"].capabilities().media_types


def test_a_vendor_without_a_name_for_a_blank_refuses_it_in_the_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no value for BD-R DL"):
        robot_drivers.create("epson", job_folder=tmp_path, robot_job_folder="\\\\PC\\TDB", media_types=["BD-R DL"])
    epson = robot_drivers.create("epson", job_folder=tmp_path, robot_job_folder="\\\\PC\\TDB")
    assert "DISC_TYPE=CD, DVD or DVD-DL only" in epson.media_refusal(Blank.BD_R_DL)


def test_the_command_line_offers_every_media_type() -> None:
    """``publisher master`` writes every medium; ``publisher burn`` every one a robot burns (its
    choices come from MediaType, so a new medium cannot be left out of the CLI)."""
    from publisher.cli import build_parser

    parser = build_parser()
    for media in MediaType:
        assert parser.parse_args(["master", "--media", media.value, "--out", "x"]).media == media.value
        if media.is_image:
            assert parser.parse_args(["burn", "--media", media.value]).media == media.value
        else:
            with pytest.raises(SystemExit):
                parser.parse_args(["burn", "--media", media.value])
