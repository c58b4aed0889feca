"""Fixtures of the robot driver tests (the rigs live in ``tests/support/robot_rigs.py``)."""
from tests.support.robot_rigs import any_rig, iso_image, label_file# noqa: F401
