"""Simulator of PTBurn: the job-file life cycle, status files, job and system errors."""
from __future__ import annotations

from pathlib import Path

from robot_drivers.hotfolder import (HotFolderSimulator, SimJob, parse_keys, read_text,
                                     render_sections, write_atomic)
from robot_drivers.model import Fault
from robot_drivers.primera import SYSTEM_ERRORS

ROBOT = "Bravo 4100 SIM"
CONDITION_ERRORS = {Fault.EMPTY_INPUT_BIN: 2, Fault.COVER_OPEN: 6, Fault.PRINTER_FAILURE: 9}
JOB_ERROR = {Fault.DRIVE_FAILURE: (18, "Record error"), Fault.VERIFY_FAILURE: (19, "Verify error")}


class PTBurnSimulator(HotFolderSimulator):
    """Watches ``folder`` like PTBurn's ``PTBurnJobs`` share."""

    def __init__(self, folder: Path, **kw: object) -> None:
        self.status_dir = folder / "Status"
        self.status_dir.mkdir(parents=True, exist_ok=True)
        self.jobs: dict[str, dict[str, object]] = {}
        self._condition: Fault | None = None
        super().__init__(folder, **kw)  # type: ignore[arg-type]

    def heartbeat(self, condition: Fault | None) -> None:
        err = CONDITION_ERRORS.get(condition) if condition else 0
        text = SYSTEM_ERRORS[err][0] if err else ""
        write_atomic(self.status_dir / "SystemStatus.txt", render_sections({
            "RobotList": {"Robot0": ROBOT},
            "System": {"ServerTickCount": self.tick, "Version": "3.0 SIM"},
            ROBOT: {"SysErrorNumber": err, "SysErrorString": text,
                    "DiscsInRightBin": len(self.ledger.records), "DiscsInLeftBin": self.blanks,
                    "CartridgeFillColor": 0 if condition is Fault.PRINTER_FAILURE else 64,
                    "CartridgeFillBlack": 80},
        }))

    def scan(self) -> list[SimJob]:
        found = []
        for jrq in sorted(self.folder.glob("*.JRQ")):
            qrj = jrq.with_suffix(".QRJ")
            jrq.rename(qrj)
            keys = parse_keys(read_text(qrj) or "")
            job_id = keys.get("JobID", [jrq.stem])[0]
            job = SimJob(job_id, Path(keys.get("ImageFile", [""])[0]),
                         int(keys.get("Copies", ["1"])[0]), keys.get("PrintLabel", [None])[0],
                         keys.get("VerifyDisc", ["YES"])[0].upper() == "YES")
            self.jobs[job_id] = {"base": jrq.with_suffix("")}
            if not job.image.is_file():
                self._section(job, 3, 15, 4, "Invalid files")
                qrj.rename(qrj.with_suffix(".ERR"))
                continue
            if job.label and not Path(job.label).is_file():
                self._section(job, 3, 15, 7, "Invalid print file")
                qrj.rename(qrj.with_suffix(".ERR"))
                continue
            qrj.rename(qrj.with_suffix(".INP"))
            found.append(job)
        return found

    def _base(self, job: SimJob) -> Path:
        return self.jobs[job.job_id]["base"]  # type: ignore[return-value]

    def report(self, job: SimJob, condition: Fault | None) -> None:
        if condition is not self._condition:
            self._condition = condition
            self.heartbeat(condition)
        self._section(job, 1, 0, 0, "")

    def finish(self, job: SimJob, error: Fault | None) -> None:
        base = self._base(job)
        inp = base.with_suffix(".INP")
        if job.cancelled:
            self._section(job, 3, 15, 16, "Job aborted by client")
            inp.rename(base.with_suffix(".ERR"))
        elif error is not None:
            number, text = JOB_ERROR[error]
            self._section(job, 3, 15, number, text)
            inp.rename(base.with_suffix(".ERR"))
        else:
            self._section(job, 2, 10, 0, "")
            inp.rename(base.with_suffix(".DON"))
        self._condition = None
        self.heartbeat(None)

    def is_cancelled(self, job: SimJob) -> bool:
        ptm = self._base(job).with_suffix(".PTM")
        text = read_text(ptm)
        if text is not None and parse_keys(text).get("Message", [""])[0] == "ABORT":
            ptm.unlink()
            return True
        return False

    def _section(self, job: SimJob, state: int, current: int, err: int, text: str) -> None:
        self.jobs[job.job_id].update({"JobState": state, "CurrentStatusState": current,
                                      "GoodDiscs": job.good, "BadDiscs": job.bad,
                                      "JobErrorNumber": err, "JobErrorString": text})
        write_atomic(self.status_dir / f"{ROBOT}.txt", render_sections({
            jid: {k: v for k, v in info.items() if k != "base"}
            for jid, info in self.jobs.items()}))
