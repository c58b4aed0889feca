"""Fixtures of the robot driver tests (the rigs live in ``robot_rigs``)."""
from robot_rigs import any_rig, iso_image, label_file  # noqa: F401
