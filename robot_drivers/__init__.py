"""Disc robot drivers: one interface, one driver and one simulator per robot family.

Standalone: imports nothing from ``publisher``; everything in and out is plain data.

>>> robot = create("simulator", time_scale=0.0)
>>> robot.capabilities().drives
2
"""
from robot_drivers.errors import (CoverOpen, DriveFailure, EmptyInputBin, JobRejected,
                                  PrinterFailure, ProtocolError, RobotBusy, RobotError,
                                  RobotOffline, RobotTimeout, VerifyFailure)
from robot_drivers.interface import DiscMover, Robot
from robot_drivers.model import (FAULT_ERRORS, Bin, BurnRequest, BurnResult, Capabilities,
                                 DiscResult, DriveState, DriveStatus, Fault, LabelSpec,
                                 MediaType, RobotStatus)
from robot_drivers.registry import create, driver_class, kinds, register

__all__ = [
    "Bin", "BurnRequest", "BurnResult", "Capabilities", "CoverOpen", "DiscMover", "DiscResult",
    "DriveFailure", "DriveState", "DriveStatus", "EmptyInputBin", "FAULT_ERRORS", "Fault",
    "JobRejected", "LabelSpec", "MediaType", "PrinterFailure", "ProtocolError", "Robot",
    "RobotBusy", "RobotError", "RobotOffline", "RobotStatus", "RobotTimeout", "VerifyFailure",
    "create", "driver_class", "kinds", "register",
]
