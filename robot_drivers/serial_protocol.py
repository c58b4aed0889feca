"""The serial autoloader command set (the widely shared "generic" RS-232 set, plus ours).

Framing: ASCII, one command per line ended by CR; one reply per command ended by CR.
Default link 9600 baud 8N1, no flow control. Documented in ``docs/robots.md``.

Moves reply ``X`` (done) or ``E`` (failed: ask ``S`` why). ``S`` replies ``S`` and two
digits. ``V`` replies ``V`` and the firmware version. Commands marked (ours) are not in
the generic set: on a real device they must be mapped or checked.
"""
from __future__ import annotations

from dataclasses import dataclass

from robot_drivers import errors

CR = b"\r"
OK = "X"
FAIL = "E"


@dataclass(frozen=True)
class Command:
    """One command letter; ``drive`` commands take the drive index as one digit."""

    letter: str
    meaning: str
    drive: bool = False
    ours: bool = False


COMMANDS: dict[str, Command] = {c.letter: c for c in (
    Command("V", "firmware version"),
    Command("C", "reset / calibrate"),
    Command("S", "status: reply S + two-digit code"),
    Command("I", "input bin -> drive", drive=True),
    Command("A", "drive -> output bin", drive=True),
    Command("G", "drive -> picker", drive=True),
    Command("R", "picker -> reject bin"),
    Command("K", "picker -> printer", ours=True),
    Command("W", "print the label spooled for the disc in the printer", ours=True),
    Command("O", "printer -> output bin", ours=True),
)}


@dataclass(frozen=True)
class StatusCode:
    """A status code and the typed error it maps to (None: not an error)."""

    code: str
    meaning: str
    error: type[errors.RobotError] | None


STATUS: dict[str, StatusCode] = {s.code: s for s in (
    StatusCode("00", "ok", None),
    StatusCode("14", "picker sensor timeout", errors.RobotError),
    StatusCode("15", "picker encoder timeout", errors.RobotError),
    StatusCode("16", "arm up sensor timeout", errors.RobotError),
    StatusCode("17", "arm down sensor timeout", errors.RobotError),
    StatusCode("18", "drive tray sensor timeout", errors.DriveFailure),
    StatusCode("19", "output sensor timeout", errors.RobotError),
    StatusCode("21", "drive tray empty (no disc picked)", errors.DriveFailure),
    StatusCode("22", "input bin empty", errors.EmptyInputBin),
    StatusCode("23", "printer empty (ink / ribbon)", errors.PrinterFailure),
    StatusCode("30", "cover open (ours)", errors.CoverOpen),
)}


def parse_status(reply: str) -> StatusCode:
    """``S22`` -> the status code; anything else is a :class:`ProtocolError`."""
    if len(reply) != 3 or reply[0] != "S" or not reply[1:].isdigit():
        raise errors.ProtocolError(f"bad status reply {reply!r}")
    return STATUS.get(reply[1:], StatusCode(reply[1:], f"unknown status {reply[1:]}",
                                            errors.RobotError))


def encode(letter: str, drive: int | None = None) -> bytes:
    """The bytes of one command."""
    cmd = COMMANDS[letter]
    text = letter + (str(drive) if cmd.drive else "")
    return text.encode("ascii") + CR
