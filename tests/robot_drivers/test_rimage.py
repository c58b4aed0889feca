"""Rimage (issue 17): the driver writes Network Publisher ``.nwp`` scripts with the commands the
CopyTrax manual lists (Disc Manager appendix p. 75), is marked experimental and left off the
defaults, and its simulator follows the same page (NWP -> INP -> DON | ERR + LOG)."""
from __future__ import annotations

from pathlib import Path

import pytest

from robot_drivers import LabelSpec, RobotError, create, kinds
from robot_drivers.hotfolder.rimage import RimageNetworkPublisher
from robot_drivers.model import Fault
from robot_drivers.sim.rimage import NetworkPublisherSimulator
from tests.support.robot_rigs import HOT, NWP_SHARE, TIME_SCALE

#: .nwp commands a default burn writes (CopyTrax "ArtMaster 600" specifications p. 75)
DOCUMENTED = {
    "order_id": "job name in the job scheduler",
    "filetype": "IMAGE: an image is recorded",
    "file": "path to the image (NRG, ISO)",
    "copies": "number of copies",
    "label": "path to the print file: PRN, DML, BTW, PDF",
}


def test_default_order_uses_documented_commands_and_is_off_the_defaults(tmp_path: Path, iso_image: Path,
                                                                        label_file: Path) -> None:
    assert "rimage" not in kinds()
    with pytest.raises(ValueError, match="experimental"):
        create("rimage", job_folder=tmp_path, robot_job_folder=NWP_SHARE)
    sim = NetworkPublisherSimulator(tmp_path / "Orders", time_scale=TIME_SCALE, robot_root=NWP_SHARE)
    robot = create("rimage", experimental=True, job_folder=sim.folder, robot_job_folder=NWP_SHARE,
                   lock_dir=tmp_path / "locks", **HOT)
    assert isinstance(robot, RimageNetworkPublisher)
    try:
        result = robot.burn(iso_image, 2, label=LabelSpec(file=label_file), job_id="J000001V1")
        script = (sim.folder / f"{result.job_id}.DON").read_text(encoding="cp1252")
        keys = dict(line.split("=", 1) for line in script.splitlines())
        assert set(keys) == set(DOCUMENTED) and sim.ignored == []
        assert keys["filetype"] == "IMAGE" and keys["file"].startswith(NWP_SHARE + "\\")
        assert keys["label"].upper().endswith(".PDF")
        sim.inject(Fault.DRIVE_FAILURE)
        with pytest.raises(RobotError, match="disc 1: record error"):  # the .LOG's description
            robot.burn(iso_image, 1)
    finally:
        sim.close()
