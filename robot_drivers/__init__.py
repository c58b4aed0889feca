"""Disc robot drivers: one interface, one driver per robot family, a simulator per protocol.

Standalone: imports nothing from ``publisher``; everything in and out is plain data.

    robot_drivers/  interface, model, errors, registry, lock, drive, manifest, local
      hotfolder/    files, share, job, primera, epson, rimage   (vendor job folders)
      serial/       protocol, link, autoloader                  (RS-232 autoloaders)
      sim/          timing, ledger, drive_pool, pseudo_drive, hotfolder, primera, epson,
                    rimage, serial                              (simulators; production never imports them)

>>> robot = create("simulator", time_scale=0.0)
>>> robot.capabilities().drives
2
"""
from robot_drivers.errors import (CoverOpen, DriveFailure, EmptyInputBin, JobCancelled, JobRejected,
                                  PathNotVisible, PrinterFailure, ProtocolError, RobotBusy, RobotError,
                                  RobotOffline, RobotPaused, RobotTimeout, Shortfall, VerifyFailure)
from robot_drivers.interface import STAGES, DiscMover, DiscProgress, Notify, Robot
from robot_drivers.model import (FAULT_ERRORS, Bin, BurnRequest, BurnResult, Capabilities,
                                 DiscResult, DriveState, DriveStatus, Fault, LabelSpec,
                                 Blank, RobotStatus)
from robot_drivers.registry import create, driver_class, kinds

__all__ = [
    "Bin", "BurnRequest", "BurnResult", "Capabilities", "CoverOpen", "DiscMover", "DiscProgress", "DiscResult",
    "DriveFailure", "DriveState", "DriveStatus", "EmptyInputBin", "FAULT_ERRORS", "Fault",
    "JobCancelled", "JobRejected", "LabelSpec", "Blank", "Notify", "PathNotVisible",
    "PrinterFailure", "ProtocolError", "Robot", "RobotBusy", "RobotError", "RobotOffline",
    "RobotPaused", "RobotStatus", "RobotTimeout", "STAGES", "Shortfall", "VerifyFailure",
    "create", "driver_class", "kinds",
]
