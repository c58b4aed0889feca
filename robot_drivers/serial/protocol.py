"""The serial autoloader command set: the widely shared "generic" RS-232 set, configurable per unit.

Source: the community "Command Sets -- Generic" page for serial CD/DVD autoloaders, as kept
in the public r2disc2 repository's README (a driver for Amtren / Discmakers units): 9600 baud
(38400 on some), 8N1, no flow control; single-byte commands, no line terminator; a move
answers one character, ``X`` success or ``E`` failure; ``S`` asks the status, a two-digit code.

Core commands (the same on every unit of the set): ``V`` sign-up / version, ``C`` reset /
calibrate, ``I`` input bin -> drive, ``A`` drive -> output bin, ``G`` drive -> picker (needed
before ``R``), ``R`` picker -> reject bin, ``S`` status. Letters beyond those mean different
things on different units (``K`` is "input stack -> printer" on some, ``W`` a three-number
status on others), so a printer, several drives or another set are configured per unit in a
:class:`CommandTable`, never assumed.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from robot_drivers import errors

OK = "X"
FAIL = "E"


@dataclass(frozen=True)
class CommandTable:
    """What to send for each move of one unit; ``{drive}`` in a command is the drive's index.

    The defaults are the generic set (one drive, no printer commands). A move set to ``""``
    is one the unit does not have."""

    version: str = "V"
    reset: str = "C"
    status: str = "S"
    load: str = "I"  # input bin -> drive
    to_output: str = "A"  # drive -> output bin
    pick: str = "G"  # drive -> picker
    reject: str = "R"  # picker -> reject bin
    to_printer: str = ""  # picker -> printer (unit specific)
    print_label: str = ""  # print the spooled label (unit specific)
    printer_to_output: str = ""  # printer -> output bin (unit specific)
    terminator: str = ""  # sent after each command (the generic set sends none)

    @classmethod
    def of(cls, options: "CommandTable | Mapping[str, Any] | None") -> "CommandTable":
        """A table from a ``[robot.commands]`` mapping (unknown names refused)."""
        if options is None or isinstance(options, CommandTable):
            return options or cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"serial command table: unknown move(s) {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(known))}")
        return replace(cls(), **{k: str(v) for k, v in options.items()})

    @property
    def addresses_drives(self) -> bool:
        """Whether the drive moves name their drive (``{drive}``): needed for several drives."""
        return all("{drive}" in c for c in (self.load, self.to_output, self.pick) if c)

    @property
    def prints(self) -> bool:
        return bool(self.to_printer and self.print_label and self.printer_to_output)

    def encode(self, move: str, drive: int | None = None) -> bytes:
        """The bytes to send for ``move`` (one of the field names)."""
        command = getattr(self, move)
        if not command:
            raise errors.ProtocolError(f"this unit's command table has no {move!r} move")
        text: str = command.replace("{drive}", str(drive if drive is not None else 0)) + self.terminator
        return text.encode("latin-1")


GENERIC = CommandTable()


@dataclass(frozen=True)
class StatusCode:
    """A status code and the typed error it maps to (None: not an error)."""

    code: str
    meaning: str
    error: type[errors.RobotError] | None


#: the generic set's status codes (r2disc2 README, "Status Codes")
STATUS: dict[str, StatusCode] = {s.code: s for s in (
    StatusCode("00", "ok", None),
    StatusCode("14", "top sensor error", errors.RobotError),
    StatusCode("15", "float sensor error", errors.RobotError),
    StatusCode("16", "CD sensor error", errors.RobotError),
    StatusCode("18", "up encoder timeout", errors.RobotError),
    StatusCode("19", "down encoder timeout", errors.RobotError),
    StatusCode("21", "drive tray empty", errors.DriveFailure),
    StatusCode("22", "could not get a disc from the input bin (empty?)", errors.EmptyInputBin),
    StatusCode("23", "printer empty", errors.PrinterFailure),
)}

_TWO_DIGITS = re.compile(r"(\d{2})")


def parse_status(reply: str) -> StatusCode:
    """The status code in a reply to ``S``: its two digits (a unit may echo a letter before
    them); an unknown code is reported as such, with its number."""
    found = _TWO_DIGITS.findall(reply)
    if len(found) != 1 or len(re.sub(r"\D", "", reply)) != 2:
        raise errors.ProtocolError(f"bad status reply {reply!r}: expected two digits")
    code = found[0]
    return STATUS.get(code, StatusCode(code, f"unknown status {code} (not in the generic set)",
                                       errors.RobotError))
