"""Plain data exchanged with robot drivers: capabilities, status, requests and results.

Nothing here knows the publisher; the service converts its own rows into these.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from robot_drivers import errors


class Blank(str, enum.Enum):
    """Blank media a robot can load."""

    CD_R = "CD-R"
    DVD_R = "DVD-R"
    DVD_R_DL = "DVD-R DL"
    BD_R = "BD-R"
    BD_R_DL = "BD-R DL"

    @classmethod
    def parse(cls, value: "str | Blank") -> "Blank":
        """``"DVD-R DL"`` (the value) or ``"DVD_R_DL"`` (the name) -> the media type."""
        if isinstance(value, Blank):
            return value
        for m in cls:
            if value in (m.value, m.name):
                return m
        raise ValueError(f"unknown media type {value!r}; known: {', '.join(m.value for m in cls)}")


class Bin(str, enum.Enum):
    """Where a finished disc ends up."""

    OUTPUT = "output"
    REJECT = "reject"
    TRAY = "tray"  # a plain drive: the disc stays in the drive tray for a person


class Fault(str, enum.Enum):
    """Faults the interface names; each surfaces as one typed error (see FAULT_ERRORS)."""

    EMPTY_INPUT_BIN = "empty_input_bin"
    DRIVE_FAILURE = "drive_failure"
    VERIFY_FAILURE = "verify_failure"
    PRINTER_FAILURE = "printer_failure"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"


#: The typed error each fault surfaces as.
FAULT_ERRORS: dict[Fault, type[errors.RobotError]] = {
    Fault.EMPTY_INPUT_BIN: errors.EmptyInputBin,
    Fault.DRIVE_FAILURE: errors.DriveFailure,
    Fault.VERIFY_FAILURE: errors.VerifyFailure,
    Fault.PRINTER_FAILURE: errors.PrinterFailure,
    Fault.COVER_OPEN: errors.CoverOpen,
    Fault.OFFLINE: errors.RobotOffline,
}


class DriveState(str, enum.Enum):
    """What a drive is doing."""

    EMPTY = "empty"
    LOADED = "loaded"
    BURNING = "burning"
    VERIFYING = "verifying"
    ERROR = "error"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Capabilities:
    """What a robot has."""

    kind: str
    drives: int
    media_types: tuple[Blank, ...]
    input_bins: int = 1
    output_bins: int = 1
    has_reject_bin: bool = True
    has_printer: bool = True
    printer_dpi: int | None = None
    bin_capacity: int | None = None
    sequenced_by_us: bool = False  # True when the driver itself moves discs (serial robots)


@dataclass(frozen=True)
class DriveStatus:
    """One drive's state as last reported."""

    index: int
    state: DriveState
    detail: str = ""


@dataclass(frozen=True)
class RobotStatus:
    """A snapshot of the robot; ``None`` means the robot does not report it."""

    online: bool
    input_bins: tuple[int | None, ...] = ()
    output_bin: int | None = None
    reject_bin: int | None = None
    drives: tuple[DriveStatus, ...] = ()
    ink_percent: dict[str, int] = field(default_factory=dict)
    cover_open: bool = False
    errors: tuple[str, ...] = ()
    raw: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LabelSpec:
    """The label to print: our rendered label and the values of its merge fields.

    ``file`` is the label the publisher drew (a PNG raster); each driver hands it to its
    robot in the vendor's format (PTBurn: JPEG or BMP; Network Publisher: PDF). Where a
    vendor prints only from its own template (a SureThing ``.STD`` for PTBurn, a Total
    Disc Maker ``.tdd`` for TD Bridge) the driver is configured with that template and
    sends ``merge_fields`` to fill it, in this order (docs/robots.md, "labels").
    """

    file: Path | None = None
    merge_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class BurnRequest:
    """One image to put on ``copies`` discs."""

    image_path: Path
    copies: int = 1
    label: LabelSpec | None = None
    verify: bool = True
    media: Blank = Blank.CD_R
    volume_name: str = "DICOM"
    speed: int = 0  # 0 = maximum
    job_id: str | None = None


@dataclass(frozen=True)
class DiscResult:
    """The outcome of one disc."""

    copy_index: int  # 1-based
    ok: bool
    bin: Bin
    drive: int | None = None
    sha256: str | None = None  # of the content read back (or as reported by the robot)
    label_file: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class BurnResult:
    """The outcome of a burn request."""

    job_id: str
    discs: tuple[DiscResult, ...]

    @property
    def good(self) -> int:
        return sum(1 for d in self.discs if d.ok)

    @property
    def bad(self) -> int:
        return sum(1 for d in self.discs if not d.ok)
