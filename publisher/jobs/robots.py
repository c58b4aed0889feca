"""The robots a service drives, as a person sees them: drives, bins, blanks left, ink, printer,
and each fault in words with what to do next (issue 14: not "EmptyInputBin: simulator: input bin
empty"). Plain records for the web UI and ``/health``; the typed errors are
:mod:`robot_drivers.errors`, the same for every vendor, so the advice is written once here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import robot_drivers


@dataclass(frozen=True)
class Advice:
    """A fault in words, and what a person does about it."""

    message: str
    next_step: str


#: typed robot error class name -> (what happened, what to do next)
ADVICE: dict[str, tuple[str, str]] = {
    "EmptyInputBin": ("The input bin has no blank discs left (or holds the wrong media).",
                      "Fill the input bin with blank discs of the job's media, then resubmit the job."),
    "DriveFailure": ("A drive could not write the disc (record error, tray or drive not ready).",
                     "Take the disc out of the reject bin; if it happens again, clean or replace the drive."),
    "VerifyFailure": ("A disc read back differs from the image: it went to the reject bin.",
                      "Discard the rejected disc; resubmit. Repeated failures: try other blanks or a lower speed."),
    "PrinterFailure": ("The label printer failed (out of ink or ribbon, or a printer error).",
                       "Replace the ink cartridge or ribbon, then resubmit (or reprint the label)."),
    "CoverOpen": ("A cover or door of the robot is open; it waits until it is closed.", "Close the robot's cover."),
    "RobotPaused": ("The robot paused its job and nobody cleared the cause in time.",
                    "Look at the robot's display, clear the cause, then resubmit."),
    "RobotTimeout": ("The robot did not answer in time.",
                     "Check that the robot is on and its software runs; then resubmit."),
    "RobotOffline": ("The robot or its vendor software does not answer.",
                     "Switch the robot on, check its cable or network share and its software; then resubmit."),
    "RobotBusy": ("Another program is using this robot.", "Wait until it is done, or stop the other program."),
    "JobRejected": ("The robot software refused the job.", "Read the robot's message below; fix the setting it names."),
    "PathNotVisible": ("The robot's PC cannot see the image or label file.",
                       "Fix the driver's path map so the robot's PC sees the job folder."),
    "JobCancelled": ("The job was cancelled before all copies were made.",
                     "Discs already made are listed below; resubmit to burn the rest."),
    "Shortfall": ("The robot made fewer good discs than asked.", "Hand out the good ones, resubmit for the rest."),
    "ProtocolError": ("The robot answered in a way the driver does not understand.",
                      "Restart the robot and its software; report it if it happens again."),
}


def explain(error: str) -> Advice | None:
    """``"EmptyInputBin: simulator: input bin empty"`` (a job's stored error) -> words and a
    next step; None if the error is not a robot's (e.g. a planning error, already in words)."""
    kind, sep, detail = error.partition(":")
    found = ADVICE.get(kind.strip()) if sep else None
    if found is None:
        return None
    return Advice(f"{found[0]} (robot: {detail.strip()})" if detail.strip() else found[0], found[1])


@dataclass(frozen=True)
class RobotView:
    """One robot now: ``online`` False with ``faults`` saying why when it cannot be asked."""

    name: str
    kind: str
    default: bool
    online: bool
    drives: tuple[tuple[int, str], ...] = ()
    blanks_left: tuple[int | None, ...] = ()
    output_bin: int | None = None
    reject_bin: int | None = None
    ink_percent: tuple[tuple[str, int], ...] = ()
    printer: str = ""
    media: tuple[str, ...] = ()
    faults: tuple[Advice, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, "default": self.default, "online": self.online,
                "drives": [{"index": i, "state": s} for i, s in self.drives], "blanks_left": list(self.blanks_left),
                "output_bin": self.output_bin, "reject_bin": self.reject_bin, "ink_percent": dict(self.ink_percent),
                "printer": self.printer, "media": list(self.media),
                "faults": [{"message": f.message, "next_step": f.next_step} for f in self.faults]}


#: ink below this is worth a warning before a long job
LOW_INK = 15
#: blanks below this are worth a warning
FEW_BLANKS = 10


def view(name: str, robot: robot_drivers.Robot, *, default: bool = False) -> RobotView:
    """Ask ``robot`` for its capabilities and status; a robot that cannot answer is shown offline."""
    kind = getattr(robot, "kind", type(robot).__name__)
    try:
        caps = robot.capabilities()
        st = robot.status()
    except robot_drivers.RobotError as exc:
        advice = explain(f"{exc.__class__.__name__}: {exc}") or Advice(str(exc), "Check the robot.")
        return RobotView(name, kind, default, False, faults=(advice,))
    faults: list[Advice] = []
    if st.cover_open:
        faults.append(Advice(*ADVICE["CoverOpen"]))
    if any(b is not None and b <= 0 for b in st.input_bins):
        faults.append(Advice(*ADVICE["EmptyInputBin"]))
    elif any(b is not None and b < FEW_BLANKS for b in st.input_bins):
        faults.append(Advice("Few blank discs are left.", "Fill the input bin before a long job."))
    low = [c for c, p in st.ink_percent.items() if p < LOW_INK]
    if low:
        faults.append(Advice(f"Ink low: {', '.join(low)}.", "Replace the ink cartridge before the next labels."))
    faults += [explain(e) or Advice(e, "Look at the robot's display.") for e in st.errors]
    printer = "none" if not caps.has_printer else "out of ink" if low else "ready"
    return RobotView(name, kind, default, st.online, tuple((d.index, d.state.value) for d in st.drives),
                     st.input_bins, st.output_bin, st.reject_bin, tuple(sorted(st.ink_percent.items())), printer,
                     tuple(m.value for m in caps.media_types), tuple(faults))


@dataclass(frozen=True)
class RobotBoard:
    """Every robot the service drives: ``default`` (``[robot]``) and the named others (``[[robots]]``)."""

    default: robot_drivers.Robot | None
    others: Mapping[str, robot_drivers.Robot]
    #: why the default robot could not be set up, when it could not
    problem: str = ""

    def names(self) -> list[str]:
        """The names a job may pick, the default one first ("")."""
        return [""] + sorted(self.others)

    def views(self) -> list[RobotView]:
        out = []
        if self.default is not None:
            out.append(view(self.default.name, self.default, default=True))
        elif self.problem:
            out.append(RobotView("default", "?", True, False, faults=(Advice(self.problem, "Fix [robot] and restart."),)))
        out += [view(n, r) for n, r in sorted(self.others.items())]
        return out
