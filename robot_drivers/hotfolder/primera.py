"""Primera disc publishers (Bravo series) through PTBurn's job-request folder.

Sources: "PTBurn 3 SDK" manual, Rev 3.24 (September 2011; Rev 3.25 of March 2017 has the
same key list, table of contents 2.1.1-2.1.48). Section numbers below are the manual's;
docs/robots.md has the table of every key we write and read.

We drop ``<JobID>.JRQ`` (``Key=Value`` lines, 2); PTBurn renames it ``.QRJ`` (discovered),
``.INP`` (in process), then ``.DON`` or ``.ERR`` (3). The robot's state is in
``Status/SystemStatus.txt`` (3.1: ``[RobotList]``, ``[System]`` with ``ServerTickCount``, one
tick per second, 3.1.4.3, and ``SysErrorNumber``/``SysErrorString``, 3.1.4.1-2; a section per
robot naming its ``StatusFile``, 3.1.3.5); the job's in the robot's status file, in a section
named after the job request file (3.2.4: ``JobState``, ``GoodDiscs``, ``BadDiscs``,
``JobErrorNumber``, ``DiscErrorNumberX``...). ``<JobID>.PTM`` with ``Message=ABORT`` and the
job's ``ClientID`` aborts it (4.1).
"""
from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from robot_drivers import errors
from robot_drivers.hotfolder.files import as_int, parse_sections, read_text, suffixes, write_atomic
from robot_drivers.hotfolder.job import HotFolderRobot, Observed, State
from robot_drivers.hotfolder.job import label_template as label_template_of
from robot_drivers.model import BurnRequest, Fault, FAULT_ERRORS, Blank, RobotStatus

#: JobErrorNumber / DiscErrorNumberX (Appendix C, "Job/Disc Errors", p. 58) -> typed error
JOB_ERRORS: dict[int, tuple[str, type[errors.RobotError]]] = {
    1: ("internal recording engine error", errors.RobotError),
    2: ("internal Job Processor error", errors.RobotError),
    3: ("internal robotics error", errors.RobotError),
    4: ("the file(s) to burn are invalid", errors.JobRejected),
    5: ("the number of files to burn exceeds the limit", errors.JobRejected),
    6: ("no burn file defined for this job", errors.JobRejected),
    7: ("the print file is invalid", errors.PrinterFailure),
    8: ("the job request file is invalid", errors.JobRejected),
    9: ("the status file is corrupted or invalid", errors.RobotError),
    10: ("the media is invalid", errors.EmptyInputBin),
    11: ("the media has insufficient space", errors.JobRejected),
    12: ("the media is not blank", errors.DriveFailure),
    13: ("the drive failed to open/close", errors.DriveFailure),
    14: ("the drive failed to become ready", errors.DriveFailure),
    15: ("the drive is not a robotically controlled drive", errors.DriveFailure),
    16: ("the job was aborted", errors.JobCancelled),
    17: ("the DVD structure was invalid", errors.JobRejected),
    18: ("error recording the disc", errors.DriveFailure),
    19: ("error verifying the disc", errors.VerifyFailure),
    20: ("the number of allowable rejects was exceeded", errors.DriveFailure),
    21: ("the session of a multisession disc is invalid", errors.JobRejected),
}

#: SysErrorNumber values the manual names. Its full table (Appendix C, "system errors") is not
#: in the public copies we found; the IGNORE_INKLOW command (4.5) applies "when the system error
#: is set to 5, 6, or 7", so those are ink-low states. Others are reported with their number and
#: SysErrorString, or mapped by the ``system_errors`` option once checked on the device.
SYSTEM_ERRORS: dict[int, tuple[str, type[errors.RobotError]]] = {
    5: ("ink low", errors.PrinterFailure),
    6: ("ink low", errors.PrinterFailure),
    7: ("ink low", errors.PrinterFailure),
}

#: PrintLabel file types (2.1.12); MergeField fills a SureThing .STD only (2.1.40)
LABEL_TYPES = (".std", ".jpg", ".bmp", ".prn")
#: ImageFile types (2.1.6)
IMAGE_TYPES = (".iso", ".gi")


class PrimeraPTBurn(HotFolderRobot):
    """Driver of a Primera robot via PTBurn's job folder (see the module docstring)."""

    kind = "primera"
    title = "PTBurn"
    id_length = 32  # JobID: "up to 32 characters" (2.1.1)

    def __init__(self, name: str | None = None, *, robot_name: str = "", client_id: str = "PUBLISHER",
                 label_template: str = "", label_format: str = "jpg",
                 system_errors: Mapping[str | int, str] | None = None, **kw: Any) -> None:
        kw.setdefault("offline_after", 30.0)
        super().__init__(name, **kw)
        self.robot_name = robot_name
        if not client_id or len(client_id) > 32 or not client_id.isascii():
            raise ValueError(f"PTBurn ClientID {client_id!r}: 1 to 32 ASCII characters (2.1.2)")
        self.client_id = client_id
        self.label_template = label_template_of(label_template, ".std", "PTBurn's MergeField fills a "
                                                                        "SureThing .STD design only (2.1.40)")
        if label_format not in ("jpg", "bmp"):
            raise ValueError(f"PTBurn label_format {label_format!r}: jpg or bmp (2.1.12)")
        self.label_format = label_format
        self.system_errors = dict(SYSTEM_ERRORS)
        for number, fault in (system_errors or {}).items():
            err = FAULT_ERRORS[Fault(fault)]
            self.system_errors[int(number)] = (fault.replace("_", " "), err)

    @property
    def status_dir(self) -> Path:
        return self.job_folder / "Status"  # "a subfolder called Status within the Job Request Folder" (3.1)

    # -- status ----------------------------------------------------------------------------------
    def _system(self) -> dict[str, dict[str, str]] | None:
        text = read_text(self.status_dir / "SystemStatus.txt")
        return parse_sections(text) if text is not None else None

    def alive_marker(self) -> str | None:
        system = self._system()
        return None if system is None else system.get("System", {}).get("ServerTickCount", "")

    def _robot(self, system: dict[str, dict[str, str]]) -> tuple[str, dict[str, str]]:
        """The robot's name and its SystemStatus.txt section (3.1.2-3.1.3)."""
        name = self.robot_name or next(iter(system.get("RobotList", {}).values()), "")
        return name, system.get(name, {})

    def _robot_file(self, system: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        name, section = self._robot(system)
        file = section.get("StatusFile") or f"{name}.txt"  # 3.1.3.5
        return parse_sections(read_text(self.status_dir / file) or "")

    def status(self) -> RobotStatus:
        system = self._system()
        if system is None:
            raise errors.RobotOffline(self.offline_message(None))
        _, robot = self._robot(system)
        err = as_int(system.get("System", {}).get("SysErrorNumber")) or 0
        ink = {k[len("CartridgeFill"):]: v for k, v in ((k, as_int(v)) for k, v in robot.items())
               if k.startswith("CartridgeFill") and v is not None}
        return RobotStatus(
            online=True, output_bin=as_int(robot.get("DiscsInRightBin")),
            input_bins=(as_int(robot.get("DiscsInLeftBin")),), ink_percent=ink,
            errors=(self._system_error(system)[0],) if err else (),
            raw={**robot, **{f"System.{k}": v for k, v in system.get("System", {}).items()}})

    def _system_error(self, system: dict[str, dict[str, str]]) -> tuple[str, type[errors.RobotError], str]:
        sys_section = system.get("System", {})
        number = as_int(sys_section.get("SysErrorNumber")) or 0
        text = sys_section.get("SysErrorString", "")
        known, cls = self.system_errors.get(number, ("", errors.RobotError))
        what = f"{known} ({text})" if known else f"system error {number}: {text or 'no text'} (not in our table)"
        return f"PTBurn {what}", cls, str(number)

    # -- the job file ----------------------------------------------------------------------------
    def job_request(self, req: BurnRequest, attempt: str) -> str:
        """The ``.JRQ`` text for ``attempt`` (files staged and paths mapped)."""
        image, staged = self._image(req, attempt)
        lines = [f"JobID={attempt}", f"ClientID={self.client_id}", f"ImageFile={image}",
                 "ImageType=MODE_1_2048", f"DeleteFiles={'YES' if staged else 'NO'}",
                 f"Copies={req.copies}", f"VerifyDisc={'YES' if req.verify else 'NO'}",
                 "RejectIfNotBlank=YES"]
        if req.speed:
            if not 1 <= req.speed <= 100:
                raise errors.JobRejected(f"PTBurn BurnSpeed ranges 1 to 100, not {req.speed} (2.1.14)")
            lines.append(f"BurnSpeed={req.speed}")
        if self.robot_name:
            lines.append(f"RobotName={self.robot_name}")
        lines += self._label_lines(req, attempt)
        return "\n".join(lines) + "\n"

    def _image(self, req: BurnRequest, attempt: str) -> tuple[str, bool]:
        path = self.share.map.robot_path(req.image_path)
        if path is not None and req.image_path.suffix.lower() in IMAGE_TYPES:
            return path, False
        if not self.share.stage:
            if path is None:
                self.share.visible(req.image_path, attempt, "image")  # raises PathNotVisible
            raise errors.JobRejected(f"PTBurn burns .ISO or .GI images (2.1.6), not {req.image_path.name}")
        target = self.share.staging(attempt) / f"{req.image_path.stem}.iso"
        try:
            target.hardlink_to(req.image_path)
        except OSError:
            shutil.copyfile(req.image_path, target)
        return self.share.visible(target, attempt, "image")[0], True

    def _label_lines(self, req: BurnRequest, attempt: str) -> list[str]:
        if req.label is None or req.label.file is None and not self.label_template:
            return []
        if self.label_template:
            template = self.share.map.robot_path(Path(self.label_template)) or self.label_template
            return [f"PrintLabel={template}"] + [f"MergeField={_field(v)}" for v in req.label.merge_fields]
        assert req.label.file is not None
        source = req.label.file
        if source.suffix.lower() in LABEL_TYPES and source.suffix.lower() != ".std":
            return [f"PrintLabel={self.share.visible(source, attempt, 'label')[0]}"]
        raster = self.share.staging(attempt) / f"LABEL.{self.label_format.upper()}"
        with Image.open(source) as img:  # PTBurn prints JPEG or BMP, not PNG (2.1.12)
            img.convert("RGB").save(raster, "JPEG" if self.label_format == "jpg" else "BMP", quality=95)
        return [f"PrintLabel={self.share.visible(raster, attempt, 'label')[0]}"]

    def submit(self, req: BurnRequest, attempt: str) -> None:
        base = self.job_folder / attempt
        for stale in (".JRQ", ".QRJ", ".INP", ".DON", ".ERR"):
            if base.with_suffix(stale).exists():
                raise errors.JobRejected(f"PTBurn job {attempt}: {base.with_suffix(stale).name} already exists")
        write_atomic(base.with_suffix(".JRQ"), self.job_request(req, attempt), encoding="cp1252")

    def send_cancel(self, req: BurnRequest, attempt: str) -> None:
        """``<JobID>.PTM``: ``Message=ABORT`` and the job's ClientID (4.1)."""
        write_atomic((self.job_folder / attempt).with_suffix(".PTM"),
                     f"Message=ABORT\nClientID={self.client_id}\n")

    # -- the job's state -------------------------------------------------------------------------
    def observe(self, req: BurnRequest, attempt: str) -> Observed:
        present = suffixes(self.job_folder, attempt)
        system = self._system() or {}
        job = self._robot_file(system).get(attempt, {})  # the section named after the .JRQ (3.2.4)
        good, bad = as_int(job.get("GoodDiscs")) or 0, as_int(job.get("BadDiscs")) or 0
        rejects = tuple(self._disc_error(job, k) for k in range(10) if f"DiscErrorNumber{k}" in job)
        state = as_int(job.get("JobState"))  # 0 not started, 1 running, 2 ok, 3 failed, 4 moved (3.2.4.12)
        if ".DON" in present and state in (2, None):  # no section: counts unknown, 0 good
            return Observed(State.DONE, good, bad, rejects)
        if ".ERR" in present and state in (3, None):
            number = as_int(job.get("JobErrorNumber")) or 0
            text, cls = JOB_ERRORS.get(number, ("", errors.RobotError))
            said = job.get("JobErrorString", "")
            what = f"{text} ({said})" if text else f"job error {number}: {said or 'no text'} (not in Appendix C)"
            return Observed(State.FAILED, good, bad, rejects, cancelled=cls is errors.JobCancelled,
                            error=cls(f"PTBurn job {attempt} failed: {what}", code=str(number)))
        sys_error = as_int(system.get("System", {}).get("SysErrorNumber")) or 0
        if sys_error and state in (0, 1, None):
            message, cls, code = self._system_error(system)
            return Observed(State.PAUSED, good, bad, rejects, message=message, pause_error=cls, code=code)
        if as_int(job.get("CurrentStatusState")) == 11:  # "Job Paused" (3.2.4.20)
            return Observed(State.PAUSED, good, bad, rejects, message=f"PTBurn: {job.get('CurrentStatus', 'job paused')}")
        return Observed(State.RUNNING if state == 1 else State.PENDING, good, bad, rejects)

    @staticmethod
    def _disc_error(job: dict[str, str], k: int) -> str:
        number = as_int(job.get(f"DiscErrorNumber{k}")) or 0
        text = JOB_ERRORS.get(number, (job.get(f"DiscErrorString{k}", "") or "unknown",))[0]
        index = job.get(f"DiscErrorIndex{k}")
        return f"disc {index}: error {number}, {text}" if index else f"error {number}, {text}"

    def disc_type(self, media: Blank) -> str | None:
        """PTBurn 3 has no disc-type key for an image job (2.1, keys 2.1.1-2.1.48): the robot
        burns the blanks it is loaded with, so ``media_types`` says what that is."""
        return None


def _field(value: str) -> str:
    """A MergeField value on one line (the JRQ is line based)."""
    return " ".join(value.split())
