"""Typed robot errors, so jobs can react to what went wrong.

Every driver raises these and nothing vendor-specific: a job that catches
:class:`EmptyInputBin` asks a person to refill blanks, whatever the robot is.
An error raised in the middle of a multi-copy burn carries the discs finished
before it in :attr:`RobotError.discs` (good ones, and rejected ones with ``ok=False``).

A vendor code the driver does not know is never guessed into one of the specific
classes: it is raised as a plain :class:`RobotError` whose ``code`` and message carry
the vendor's number and text (docs/robots.md, "error numbers").
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from robot_drivers.model import DiscResult


class RobotError(Exception):
    """Base class of every robot error.

    ``code`` is the vendor's own error code or status (e.g. Primera job error 19,
    Epson ``JDF0600``, serial status ``22``) when there is one, for the audit log.
    """

    def __init__(self, message: str, *, code: str | None = None,
                 discs: Sequence["DiscResult"] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.discs: list["DiscResult"] = list(discs)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class EmptyInputBin(RobotError):
    """No blank disc left in the input bin (or the wrong media is loaded)."""


class DriveFailure(RobotError):
    """A drive failed: not ready, tray did not open/close, write (record) error."""


class VerifyFailure(RobotError):
    """The disc read back differs from the image (or could not be read back)."""


class PrinterFailure(RobotError):
    """The disc printer failed: out of ink / ribbon, bad print file, printer error."""


class RobotPaused(RobotError):
    """The robot paused its job and waits for a person (a cover open, ink low, the pause key),
    and nobody cleared the cause within the driver's ``operator_timeout``: the job was stopped."""


class CoverOpen(RobotPaused):
    """A cover or door of the robot is open; the robot pauses until it is closed."""


class RobotOffline(RobotError):
    """The robot or its vendor software does not answer (no port, no status tick)."""


class RobotTimeout(RobotOffline):
    """No (valid) answer arrived in time: a missing reply or a job that never finishes."""


class ProtocolError(RobotError):
    """A reply that does not follow the protocol (garbled, unexpected)."""


class JobRejected(RobotError):
    """The robot software refused the job request (invalid job file, duplicate id...)."""


class PathNotVisible(JobRejected):
    """A file the robot's own PC must open (image, label) lies outside every folder it can
    see: the path map of the driver (docs/robots.md, "path map") does not cover it."""


class JobCancelled(RobotError):
    """The job was cancelled (asked through :meth:`Robot.cancel`, or aborted at the robot)
    before all copies were made; it did not complete."""


class Shortfall(RobotError):
    """The robot ended the job with fewer good discs than the copies asked; the message
    names how many are missing and why the rejected ones failed."""


class RobotBusy(RobotError):
    """Another process holds this robot's lock."""
