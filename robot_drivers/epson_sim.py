"""Simulator of TD Bridge: the .JDF life cycle, TDBStatus.txt, pauses, cancels."""
from __future__ import annotations

from pathlib import Path

from robot_drivers.hotfolder import (HotFolderSimulator, SimJob, parse_keys, parse_sections,
                                     read_text, render_sections, write_atomic)
from robot_drivers.model import Fault

CODES = {Fault.COVER_OPEN: "PUB0001", Fault.EMPTY_INPUT_BIN: "PUB0100",
         Fault.PRINTER_FAILURE: "PUB0300", Fault.DRIVE_FAILURE: "DRV0100",
         Fault.VERIFY_FAILURE: "DRV0200"}


class TDBridgeSimulator(HotFolderSimulator):
    """Watches ``folder`` like TD Bridge's job folder."""

    status_period = 5.0

    def __init__(self, folder: Path, **kw: object) -> None:
        self.jobs: dict[str, dict[str, object]] = {}
        self.complete: list[str] = []
        self.active: list[str] = []
        self._condition: Fault | None = None
        super().__init__(folder, **kw)  # type: ignore[arg-type]

    def heartbeat(self, condition: Fault | None) -> None:
        sections: dict[str, dict[str, object]] = {
            "ACTIVE_JOB": {f"JOB{i + 1}": j for i, j in enumerate(self.active)},
            "COMPLETE_JOB": {f"JOB{i + 1}": j for i, j in enumerate(self.complete)},
        }
        sections.update(self.jobs)  # type: ignore[arg-type]
        sections["PUBLISHER1"] = {
            "STACKER1": self.blanks, "STACKER2": len(self.ledger.records),
            "COVER": "OPEN" if condition is Fault.COVER_OPEN else "CLOSE",
            "INK_CYAN": 0 if condition is Fault.PRINTER_FAILURE else 70, "INK_BLACK": 80,
            "UPDATE": self.tick}
        write_atomic(self.folder / "TDBStatus.txt", render_sections(sections))

    def scan(self) -> list[SimJob]:
        found = []
        for jdf in sorted(self.folder.glob("*.JDF")):
            rjd = jdf.with_suffix(".RJD")
            jdf.rename(rjd)
            keys = parse_keys(read_text(rjd) or "")
            job_id = keys.get("JOB_ID", [jdf.stem])[0]
            job = SimJob(job_id, Path(keys.get("IMAGE", [""])[0]),
                         int(keys.get("COPIES", ["1"])[0]), keys.get("LABEL", [None])[0],
                         keys.get("COMPARE", ["YES"])[0] == "YES")
            if keys.get("DISC_TYPE", [""])[0] not in ("CD", "DVD", "DVD-DL"):
                self.jobs[job_id] = {"STATUS": 6, "ERROR": "JDF0500"}
                rjd.rename(rjd.with_suffix(".ERR"))
                continue
            self.jobs[job_id] = {"STATUS": 1, "COMPLETION_NUMBER": 0, "ERRORDISC_NUMBER": 0,
                                 "ERROR": ""}
            self.active.append(job_id)
            rjd.rename(rjd.with_suffix(".INP"))
            found.append(job)
        return found

    def report(self, job: SimJob, condition: Fault | None) -> None:
        base = self.folder / job.job_id
        paused = condition is not None
        if condition is Fault.COVER_OPEN and base.with_suffix(".INP").exists():
            base.with_suffix(".INP").rename(base.with_suffix(".STP"))
        if condition is None and base.with_suffix(".STP").exists():
            base.with_suffix(".STP").rename(base.with_suffix(".INP"))
        self.jobs[job.job_id].update({"STATUS": 3 if paused else 2,
                                      "COMPLETION_NUMBER": job.good,
                                      "ERRORDISC_NUMBER": job.bad,
                                      "ERROR": CODES.get(condition, "") if condition else ""})
        if condition is not self._condition:
            self._condition = condition
            self.heartbeat(condition)

    def finish(self, job: SimJob, error: Fault | None) -> None:
        base = self.folder / job.job_id
        current = next((base.with_suffix(s) for s in (".INP", ".STP")
                        if base.with_suffix(s).exists()), None)
        ok = error is None and not job.cancelled
        self.jobs[job.job_id].update({"STATUS": 4 if ok else 5, "COMPLETION_NUMBER": job.good,
                                      "ERRORDISC_NUMBER": job.bad,
                                      "ERROR": CODES.get(error, "") if error else ""})
        self.active.remove(job.job_id)
        self.complete.append(job.job_id)
        self._condition = None
        self.heartbeat(None)  # status first, then the job file's final name
        if current is not None:
            current.rename(base.with_suffix(".DON" if ok else ".ERR"))

    def is_cancelled(self, job: SimJob) -> bool:
        jcf = self.folder / f"{job.job_id}.JCF"
        text = read_text(jcf)
        if text is None:
            return False
        ok = parse_sections(text).get("CANCEL", {}).get("JOB_ID") == job.job_id
        jcf.rename(jcf.with_suffix(".CDN" if ok else ".CER"))
        return ok
