"""Primera disc publishers through the PTBurn job-request hot folder (PTBurn 3 SDK manual).

We drop ``<JobID>.JRQ`` (``Key=Value``); PTBurn renames it ``.QRJ`` (discovered),
``.INP`` (in process), then ``.DON`` or ``.ERR``. Progress is in
``Status/<RobotName>.txt`` (a section per job), the robot's condition in
``Status/SystemStatus.txt`` whose ``ServerTickCount`` proves PTBurn is alive.
A ``.PTM`` file with ``Message=ABORT`` aborts a job.
"""
from __future__ import annotations

import time
from pathlib import Path

from robot_drivers import errors
from robot_drivers.hotfolder import Heartbeat, parse_sections, read_text, write_atomic
from robot_drivers.interface import Robot
from robot_drivers.model import (Bin, BurnRequest, BurnResult, Capabilities, DiscResult,
                                 MediaType, RobotStatus)

#: JobErrorNumber (SDK manual) -> typed error
JOB_ERRORS: dict[int, tuple[str, type[errors.RobotError]]] = {
    4: ("invalid files", errors.JobRejected),
    5: ("too many files", errors.JobRejected),
    7: ("invalid print file", errors.PrinterFailure),
    8: ("invalid job file", errors.JobRejected),
    10: ("invalid media", errors.JobRejected),
    11: ("insufficient space", errors.JobRejected),
    12: ("disc not blank", errors.DriveFailure),
    13: ("drive open/close failed", errors.DriveFailure),
    14: ("drive not ready", errors.DriveFailure),
    16: ("aborted", errors.RobotError),
    18: ("record error", errors.DriveFailure),
    19: ("verify error", errors.VerifyFailure),
    20: ("reject limit exceeded", errors.DriveFailure),
}

#: SysErrorNumber -> typed error. ASSUMED numbers: to check on a real device (docs/robots.md)
SYSTEM_ERRORS: dict[int, tuple[str, type[errors.RobotError]]] = {
    2: ("input bin empty", errors.EmptyInputBin),
    6: ("cover open", errors.CoverOpen),
    9: ("ink cartridge empty", errors.PrinterFailure),
}

DISC_TYPES = {MediaType.CD_R: "CD", MediaType.DVD_R: "DVD", MediaType.DVD_R_DL: "DVDDL",
              MediaType.BD_R: "BD"}


def _clip(value: str, n: int = 32) -> str:
    return value.replace("\n", " ")[:n]


class PrimeraPTBurn(Robot):
    """Driver of a Primera robot (Bravo series) via PTBurn's job folder."""

    kind = "primera"

    def __init__(self, name: str | None = None, *, job_folder: Path | str,
                 robot_name: str = "", client_id: str = "PUBLISHER", poll: float = 0.5,
                 offline_after: float = 30.0, job_timeout: float = 4 * 3600.0,
                 drives: int = 2, **kw: object) -> None:
        super().__init__(name, **kw)  # type: ignore[arg-type]
        self.job_folder = Path(job_folder)
        self.robot_name = robot_name
        self.client_id = _clip(client_id)
        self.poll = poll
        self.offline_after = offline_after
        self.job_timeout = job_timeout
        self.drives = drives
        self._heartbeat = Heartbeat()

    @property
    def status_dir(self) -> Path:
        return self.job_folder / "Status"

    def capabilities(self) -> Capabilities:
        return Capabilities(kind=self.kind, drives=self.drives, media_types=tuple(MediaType),
                            printer_dpi=4800, sequenced_by_us=False)

    # -- status ------------------------------------------------------------------------------
    def _system(self) -> dict[str, dict[str, str]]:
        text = read_text(self.status_dir / "SystemStatus.txt")
        if text is None:
            raise errors.RobotOffline(f"PTBurn status {self.status_dir}/SystemStatus.txt missing")
        return parse_sections(text)

    def _robot_section(self, system: dict[str, dict[str, str]]) -> tuple[str, dict[str, str]]:
        name = self.robot_name or next(iter(system.get("RobotList", {}).values()), "")
        return name, system.get(name, {})

    def _check_alive(self, system: dict[str, dict[str, str]]) -> None:
        age = self._heartbeat.see(system.get("System", {}).get("ServerTickCount"))
        if age > self.offline_after:
            raise errors.RobotOffline(f"PTBurn ServerTickCount has not moved for {age:.1f}s")

    def _wait_alive(self) -> dict[str, dict[str, str]]:
        """Wait (up to ``offline_after``) until ServerTickCount moves; return that status."""
        self._heartbeat = Heartbeat()
        first = self._system()
        self._heartbeat.see(first.get("System", {}).get("ServerTickCount"))
        while True:
            system = self._system()
            tick = system.get("System", {}).get("ServerTickCount")
            if tick != self._heartbeat.value:
                self._heartbeat.see(tick)
                return system
            self._check_alive(system)
            time.sleep(self.poll)

    def status(self) -> RobotStatus:
        system = self._system()
        _, robot = self._robot_section(system)
        err = int(robot.get("SysErrorNumber", "0") or 0)
        ink = {k[len("CartridgeFill"):] or "color": int(v) for k, v in robot.items()
               if k.startswith("CartridgeFill") and v.lstrip("-").isdigit()}
        return RobotStatus(
            online=True, output_bin=_int(robot.get("DiscsInRightBin")),
            input_bins=(_int(robot.get("DiscsInLeftBin")),), ink_percent=ink,
            cover_open=err in SYSTEM_ERRORS and SYSTEM_ERRORS[err][1] is errors.CoverOpen,
            errors=(robot.get("SysErrorString", ""),) if err else (), raw=dict(robot))

    # -- burn --------------------------------------------------------------------------------
    def job_request(self, req: BurnRequest) -> str:
        """The text of the ``.JRQ`` file."""
        lines = [f"JobID={_clip(req.job_id or '')}", f"ClientID={self.client_id}",
                 f"ImageFile={req.image_path}", "DeleteFiles=NO", f"Copies={req.copies}",
                 f"VolumeName={_clip(req.volume_name)}", f"BurnSpeed={req.speed}",
                 f"VerifyDisc={'YES' if req.verify else 'NO'}", "RejectIfNotBlank=YES",
                 "CloseDisc=YES", f"DiscType={DISC_TYPES[req.media]}"]
        if self.robot_name:
            lines.append(f"RobotName={self.robot_name}")
        if req.label and req.label.file:
            lines.append(f"PrintLabel={req.label.file}")
            lines.extend(f"MergeField={v}" for v in req.label.merge_fields)
        return "\n".join(lines) + "\n"

    def _burn(self, req: BurnRequest) -> BurnResult:
        first = self._wait_alive()
        submitted_tick = first.get("System", {}).get("ServerTickCount")
        base = self.job_folder / (req.job_id or "JOB")
        write_atomic(base.with_suffix(".JRQ"), self.job_request(req))
        deadline = time.monotonic() + self.job_timeout
        while True:
            system = self._system()
            robot_name, robot = self._robot_section(system)
            if base.with_suffix(".DON").exists():
                job = self._job_section(robot_name, req)
                good = int(job.get("GoodDiscs", req.copies) or 0)
                return BurnResult(job_id=req.job_id or "", discs=self._discs(req, good))
            if base.with_suffix(".ERR").exists():
                raise self._job_error(robot_name, req)
            try:
                self._check_alive(system)
                sys_err = int(robot.get("SysErrorNumber", "0") or 0)
                fresh = system.get("System", {}).get("ServerTickCount") != submitted_tick
                if sys_err and fresh:  # a status written before our job may be stale
                    text, cls = SYSTEM_ERRORS.get(sys_err, (robot.get("SysErrorString", ""),
                                                            errors.RobotError))
                    raise cls(f"Primera {robot_name}: {text} "
                              f"({robot.get('SysErrorString', '')})", code=str(sys_err))
                if time.monotonic() > deadline:
                    raise errors.RobotTimeout(f"PTBurn job {req.job_id} not done in "
                                              f"{self.job_timeout}s")
            except errors.RobotError as exc:
                self._abort(base, req)
                job = self._job_section(robot_name, req)
                exc.discs = list(self._discs(req, int(job.get("GoodDiscs", "0") or 0)))
                raise
            time.sleep(self.poll)

    def _job_section(self, robot_name: str, req: BurnRequest) -> dict[str, str]:
        text = read_text(self.status_dir / f"{robot_name}.txt") or ""
        return parse_sections(text).get(req.job_id or "", {})

    def _job_error(self, robot_name: str, req: BurnRequest) -> errors.RobotError:
        job = self._job_section(robot_name, req)
        number = int(job.get("JobErrorNumber", "0") or 0)
        text, cls = JOB_ERRORS.get(number, (job.get("JobErrorString", "unknown"),
                                            errors.RobotError))
        exc = cls(f"Primera job {req.job_id} failed: {text} ({job.get('JobErrorString', '')})",
                  code=str(number))
        exc.discs = list(self._discs(req, int(job.get("GoodDiscs", "0") or 0)))
        return exc

    def _abort(self, base: Path, req: BurnRequest) -> None:
        """Ask PTBurn to abort (``.PTM``); the robot keeps the job until a person clears it."""
        write_atomic(base.with_suffix(".PTM"), f"Message=ABORT\nClientID={self.client_id}\n")

    def _discs(self, req: BurnRequest, good: int) -> tuple[DiscResult, ...]:
        label = str(req.label.file) if req.label and req.label.file else None
        return tuple(DiscResult(copy_index=k, ok=True, bin=Bin.OUTPUT, label_file=label)
                     for k in range(1, good + 1))


def _int(v: str | None) -> int | None:
    return int(v) if v and v.lstrip("-").isdigit() else None
