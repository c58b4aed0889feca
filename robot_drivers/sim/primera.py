"""Simulator of PTBurn, from the "PTBurn 3 SDK" manual Rev 3.24 (sections cited inline).

What it does as the manual says: ``Key = Value`` job requests, spaces around ``=`` allowed
(the examples, 4.1); the life cycle ``.JRQ -> .QRJ -> .INP -> .DON | .ERR`` (3); finished
job files and their status sections kept until ``Status_Time`` has expired (2.1.7);
``SystemStatus.txt`` and ``<Robot>.txt`` with the keys of 3.1 and 3.2 only; job errors from
the table of Appendix C (p. 58): 4 when an ``ImageFile`` cannot be opened or is no .ISO/.GI
(2.1.6), 6 with nothing to burn, 7 when the ``PrintLabel`` file cannot be opened or is not a
.STD/.jpg/.bmp/.PRN (2.1.12), 16 when aborted by a ``.PTM`` with the job's ClientID (4.1),
18/19 for record/verify errors, 20 when too many rejects follow each other; a rejected disc
is made again (the example of DiscErrorIndexX). Ink low sets SysErrorNumber 5 (IGNORE_INKLOW
applies to 5, 6 and 7, 4.5) and pauses the job until cleared.

Where the manual is silent the simulator says so instead of inventing: keys outside the
manual's list are ignored and listed in :attr:`HotFolderSimulator.ignored`; out-of-range
values end the job with error 8 ("The job request file is invalid"), the nearest documented
error (to check on a real PTBurn); other system-error numbers are not in the public manual,
so :meth:`PTBurnSimulator.system_error` sets any number and text a test chooses.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from robot_drivers.model import Fault
from robot_drivers.sim.hotfolder import HotFolderSimulator, SimJob, render_sections, tree_digest, write_text
from robot_drivers.manifest import sha256_of

ROBOT = "Bravo 4100"
#: the JRQ keys of Rev 3.25's table of contents (2.1.1-2.1.48)
KEYS = frozenset("""JobID ClientID Importance Data AudioFile ImageFile DeleteFiles ImageType DataImageType
CloseDisc Copies PrintLabel VolumeName BurnSpeed VerifyDisc RejectIfNotBlank NotifyClient
PreserveISOVariations ReadDataTo ReadDataFormat CreateSubFolders CheckFileOnDisc CheckSystemIDOnDisc
CheckVolumeIDOnDisc CheckPubIDOnDisc CheckPreparerIDOnDisc CheckAppIDOnDisc PVDSystemID PVDPublisherID
PVDPreparerID PVDApplicationID LoadUnloadOverride PreMasterData DriveID BinID TestRecord PrintQuality
PrintInnerDiam PrintOuterMargin MergeField RobotName PrintReject CDTextDiscTitle CDTextDiscPerformer
CDTextDiscComposer CDTextTrackTitle CDTextTrackPerformer CDTextTrackComposer""".split())
YES_NO = ("DeleteFiles", "VerifyDisc", "RejectIfNotBlank", "PrintReject", "CloseDisc")
ERRORS = {4: "The file/s you are trying to burn are invalid.", 6: "There is no burn file defined for this job.",
          7: "The print file is invalid.", 8: "The job request file is invalid.", 16: "The job was aborted.",
          18: "Error recording the disc, see the log file for further information.",
          19: "Error verifying the disc, see the log file for further information.",
          20: "The number of allowable rejects was exceeded."}
DISC_ERROR = {"record": 18, "verify": 19}
LABEL_MAGIC = {".jpg": b"\xff\xd8\xff", ".bmp": b"BM"}


def parse_request(text: str) -> list[tuple[str, str]]:
    """``Key = Value`` lines in order (spaces around ``=`` allowed, as in the manual's examples)."""
    out = []
    for line in text.splitlines():
        if "=" in line and line.strip():
            key, value = line.split("=", 1)
            out.append((key.strip(), value.strip()))
    return out


class PTBurnSimulator(HotFolderSimulator):
    """Watches ``folder`` like PTBurn's ``PTBurnJobs`` share, as the robot PC ``robot_root``."""

    supported_faults = (Fault.PRINTER_FAILURE, Fault.DRIVE_FAILURE, Fault.VERIFY_FAILURE, Fault.OFFLINE)

    def __init__(self, folder: Path, *, status_time: float = 3600.0, reject_limit: int = 3,
                 retry_rejects: bool = True, **kw: Any) -> None:
        self.status_dir = folder / "Status"  # 3.1
        self.status_dir.mkdir(parents=True, exist_ok=True)
        self.status_time = status_time
        self.reject_limit = reject_limit
        self.retry_rejects = retry_rejects
        self.sections: dict[str, dict[str, object]] = {}
        self.finished_at: dict[str, float] = {}
        self.active: list[str] = []
        self.completed: list[str] = []
        self.sys_error: tuple[int, str] = (0, "")
        self._paused: Fault | None = None
        super().__init__(folder, **kw)

    def system_error(self, number: int, text: str) -> None:
        """Set SysErrorNumber/SysErrorString as PTBurn would for a condition (0 clears it)."""
        with self._lock:
            self.sys_error = (number, text)
            self.heartbeat(None)

    def held(self, job: SimJob) -> bool:
        return self.sys_error[0] != 0  # a system error stops the robot until it is cleared

    # -- status files ----------------------------------------------------------------------------
    def _current_error(self, condition: Fault | None) -> tuple[int, str]:
        if condition is Fault.PRINTER_FAILURE:
            return 5, "Ink Low"
        return self.sys_error

    def heartbeat(self, condition: Fault | None) -> None:
        number, text = self._current_error(condition or self._paused)
        write_text(self.status_dir / "SystemStatus.txt", render_sections({
            "RobotList": {"Robot0": ROBOT},  # 3.1.2
            "System": {"SysErrorString": text, "SysErrorNumber": number,  # 3.1.4
                       "ServerTickCount": self.tick, "ServerTime": time.strftime("%m/%d/%Y %H:%M:%S"),
                       "DriveSpace": 12000, "PtburnSWVer": "3.0.0 (simulated)"},
            ROBOT: {"SystemDrives": 2, "RobotType": 8, "NumJobs": len(self.active), "Status": text or "System OK",
                    "StatusFile": f"{ROBOT}.txt", "DiscsInRightBin": len(self.ledger.records),
                    "DiscsInLeftBin": self.blanks, "CartridgeType0": 1, "CartridgeFill0": 0 if number == 5 else 64},
        }))
        robot: dict[str, dict[str, object]] = {
            "JobList": {f"Job{i}": j for i, j in enumerate(self.active)},  # 3.2.2
            "CompletedJobs": {f"Job{i}": j for i, j in enumerate(self.completed)},  # 3.2.3
        }
        robot.update({name: dict(keys) for name, keys in self.sections.items()})
        robot["System"] = {"SystemDesc": ROBOT, "SystemStatus": text or "System OK", "SystemDrives": 2,
                           "SysErrorString": text, "SysErrorNumber": number}  # 3.2.5
        write_text(self.status_dir / f"{ROBOT}.txt", render_sections(robot))

    def housekeeping(self) -> None:
        """Delete finished job files once ``Status_Time`` has passed (2.1.7)."""
        now = time.monotonic()
        for name, at in list(self.finished_at.items()):
            if now - at >= self.status_time:
                for suffix in (".DON", ".ERR"):
                    (self.folder / name).with_suffix(suffix).unlink(missing_ok=True)
                self.sections.pop(name, None)
                del self.finished_at[name]
                if name in self.completed:
                    self.completed.remove(name)

    # -- jobs ------------------------------------------------------------------------------------
    def scan(self) -> list[SimJob]:
        found = []
        for jrq in sorted(self.folder.glob("*.JRQ")):
            qrj = jrq.with_suffix(".QRJ")
            jrq.replace(qrj)
            name = jrq.stem  # the job's status section is named after the file (3.2.4)
            keys = parse_request(qrj.read_text(encoding="cp1252", errors="replace"))
            job, error = self._accept(name, keys)
            self.sections[name] = {"JobID": job.job_id, "ClientID": job.info.get("client", "Unknown"),
                                   "JobsAhead": len(self.active), "DiscsAhead": 0,
                                   "DiscsRemaining": job.copies, "GoodDiscs": 0, "BadDiscs": 0,
                                   "CurrentStatus": "Job Initializing", "CurrentStatusState": 14,
                                   "TimeCreated": time.strftime("%m/%d/%Y %I:%M:%S %p"), "JobState": 0}
            if error:
                self._end(job, qrj, error)
                continue
            self.active.append(name)
            qrj.replace(qrj.with_suffix(".INP"))
            found.append(job)
        return found

    def _accept(self, name: str, keys: list[tuple[str, str]]) -> tuple[SimJob, int]:
        values: dict[str, str] = {}
        merge: list[str] = []
        for key, value in keys:
            if key not in KEYS:
                self.ignored.append(f"{name}.JRQ: {key}")
            elif key == "MergeField":
                merge.append(value)
            else:
                values[key] = value
        job = SimJob(values.get("JobID", name), self.folder / name, 1, None)
        job.info.update(client=values.get("ClientID", "Unknown"), merge=merge)
        bad_number = [k for k in ("Copies", "BurnSpeed") if k in values and not re.fullmatch(r"\d+", values[k])]
        if (bad_number or len(job.job_id) > 32 or len(str(job.info["client"])) > 32
                or any(values.get(k, "NO").upper() not in ("YES", "NO") for k in YES_NO)):
            return job, 8
        job.copies = int(values.get("Copies", "1"))  # 2.1.11
        job.verify = values.get("VerifyDisc", "NO").upper() == "YES"  # 2.1.15: default NO
        if not 1 <= job.copies <= 10000 or not 0 <= int(values.get("BurnSpeed", "0")) <= 100:
            return job, 8
        if values.get("RobotName", ROBOT) != ROBOT:  # must be one listed in [RobotList] (2.1.41)
            return job, 8
        image_key = values.get("ImageFile", values.get("Data", ""))
        if not image_key:
            return job, 6
        image = self.pc.resolve(image_key.split(",")[0].strip())  # "Filename, SessionX" (2.1.6)
        if "ImageFile" in values and (image is None or image.suffix.lower() not in (".iso", ".gi")):
            return job, 4
        if image is None:
            return job, 4
        job.content = sha256_of(image) if image.is_file() else tree_digest(image)
        if "PrintLabel" in values:
            label = self.pc.resolve(values["PrintLabel"])
            if label is None or not self._printable(label):
                return job, 7
            job.label = self.keep_label(name, label)
        if merge and not (job.label or "").lower().endswith(".std"):
            self.ignored.append(f"{name}.JRQ: MergeField without a .STD PrintLabel")
        return job, 0

    @staticmethod
    def _printable(label: Path) -> bool:
        suffix = label.suffix.lower()
        if suffix not in (".std", ".jpg", ".bmp", ".prn"):  # 2.1.12
            return False
        magic = LABEL_MAGIC.get(suffix)
        return magic is None or label.read_bytes()[:len(magic)] == magic

    def report(self, job: SimJob, condition: Fault | None) -> None:
        name = job.base.name
        if condition is not self._paused:
            self._paused = condition
            self.heartbeat(condition)
        self.sections[name].update({"JobState": 1, "GoodDiscs": job.good, "BadDiscs": job.bad,
                                    "DiscsRemaining": job.copies - job.good,
                                    "CurrentStatus": "Job Paused" if condition else "Recording Disc",
                                    "CurrentStatusState": 11 if condition else 0})  # 3.2.4.20
        self._disc_errors(job)

    def _disc_errors(self, job: SimJob) -> None:
        section = self.sections[job.base.name]
        for k, (copy, why) in enumerate(job.errors[:10]):  # DiscErrorIndexX..: at most 10
            section.update({f"DiscErrorIndex{k}": copy, f"DiscErrorNumber{k}": DISC_ERROR[why],
                            f"DiscErrorString{k}": ERRORS[DISC_ERROR[why]]})

    def disc_failed(self, job: SimJob, why: str) -> bool:
        recent = job.errors[-self.reject_limit:]
        in_a_row = len(recent) == self.reject_limit and all(c == recent[0][0] + i for i, (c, _) in enumerate(recent))
        if not self.retry_rejects:  # a knob of this simulator, not a documented PTBurn setting
            job.info["given_up"] = self._given_up(job) + 1
        return not in_a_row

    @staticmethod
    def _given_up(job: SimJob) -> int:
        return int(str(job.info.get("given_up", 0)))

    def wants_more(self, job: SimJob) -> bool:
        return job.good + self._given_up(job) < job.copies

    def finish(self, job: SimJob, failure: tuple[int, str] | None) -> None:
        inp = job.base.with_suffix(".INP")
        self._end(job, inp, 16 if job.cancelled else 20 if failure is not None else 0)

    def _end(self, job: SimJob, current: Path, error: int) -> None:
        name = job.base.name
        section = self.sections[name]
        section.update({"GoodDiscs": job.good, "BadDiscs": job.bad, "DiscsRemaining": max(job.copies - job.good, 0),
                        "JobState": 3 if error else 2, "CurrentStatusState": 15 if error else 10,
                        "CurrentStatus": "The job failed" if error else "The job is complete...",
                        "TimeCompleted": time.strftime("%m/%d/%Y %I:%M:%S %p")})
        if error:
            section.update({"JobErrorNumber": error, "JobErrorString": ERRORS[error]})
        self._disc_errors(job)
        if name in self.active:
            self.active.remove(name)
        self.completed.insert(0, name)
        self.finished_at[name] = time.monotonic()
        self._paused = None
        self.heartbeat(None)  # the status first, then the job file's final name
        current.replace(current.with_suffix(".ERR" if error else ".DON"))

    def is_cancelled(self, job: SimJob) -> bool:
        """A ``.PTM`` named like the job with ``Message = ABORT`` and its ClientID (4.1)."""
        ptm = job.base.with_suffix(".PTM")
        if not ptm.exists():
            return False
        keys = dict(parse_request(ptm.read_text(encoding="cp1252", errors="replace")))
        ptm.unlink(missing_ok=True)
        return keys.get("Message") == "ABORT" and keys.get("ClientID") in (job.info.get("client"), "Administrator")
