"""Epson Discproducer through TD Bridge job files (``.JDF``), the Epson hot-folder interface.

``<JOB_ID>.JDF`` (``KEY=value``, upper-case keys) -> ``.RJD`` received -> ``.INP`` ->
``.STP`` paused (cover open) -> ``.DON`` or ``.ERR``. ``TDBStatus.txt`` is rewritten
every 5 s (its rewrites prove TD Bridge is alive): ``[ACTIVE_JOB]``, ``[COMPLETE_JOB]``,
a section per job (``STATUS``, ``COMPLETION_NUMBER``, ``ERRORDISC_NUMBER``, ``ERROR``)
and ``[PUBLISHER1]``. Cancel: ``<JOB_ID>.JCF`` with ``[CANCEL]`` / ``JOB_ID=``.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from robot_drivers import errors
from robot_drivers.hotfolder import Heartbeat, parse_sections, read_text, write_atomic
from robot_drivers.interface import Robot
from robot_drivers.model import (Bin, BurnRequest, BurnResult, Capabilities, DiscResult,
                                 MediaType, RobotStatus)

#: ERROR codes -> typed error. SYS003, JDF0100, JDF0500 are Epson's; the others are
#: ASSUMED and must be checked on a real device (docs/robots.md).
ERRORS: dict[str, tuple[str, type[errors.RobotError]]] = {
    "SYS003": ("disk full", errors.JobRejected),
    "JDF0100": ("duplicate JOB_ID", errors.JobRejected),
    "JDF0500": ("bad DISC_TYPE", errors.JobRejected),
    "PUB0001": ("cover open", errors.CoverOpen),
    "PUB0100": ("no disc in the input stacker", errors.EmptyInputBin),
    "PUB0300": ("ink end", errors.PrinterFailure),
    "DRV0100": ("write error", errors.DriveFailure),
    "DRV0200": ("compare (verify) error", errors.VerifyFailure),
}

DISC_TYPES = {MediaType.CD_R: "CD", MediaType.DVD_R: "DVD", MediaType.DVD_R_DL: "DVD-DL"}
JOB_ID_RE = re.compile(r"[^A-Za-z0-9_-]")


def job_id_for(raw: str) -> str:
    """JOB_ID: at most 40 characters of ``A-Za-z0-9-_``."""
    return JOB_ID_RE.sub("_", raw)[:40] or "JOB"


class EpsonTDBridge(Robot):
    """Driver of an Epson Discproducer (PP-100 series) via TD Bridge."""

    kind = "epson"

    def __init__(self, name: str | None = None, *, job_folder: Path | str,
                 publisher: str = "PUBLISHER1", poll: float = 1.0, offline_after: float = 20.0,
                 job_timeout: float = 4 * 3600.0, **kw: object) -> None:
        super().__init__(name, **kw)  # type: ignore[arg-type]
        self.job_folder = Path(job_folder)
        self.publisher = publisher
        self.poll = poll
        self.offline_after = offline_after
        self.job_timeout = job_timeout
        self._heartbeat = Heartbeat()

    @property
    def status_file(self) -> Path:
        return self.job_folder / "TDBStatus.txt"

    def capabilities(self) -> Capabilities:
        return Capabilities(kind=self.kind, drives=2, media_types=tuple(DISC_TYPES),
                            output_bins=2, printer_dpi=1440, sequenced_by_us=False)

    def _read(self) -> dict[str, dict[str, str]]:
        text = read_text(self.status_file)
        if text is None:
            raise errors.RobotOffline(f"TD Bridge status {self.status_file} missing")
        return parse_sections(text)

    def _alive_age(self) -> float:
        try:
            stamp = str(os.stat(self.status_file).st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        return self._heartbeat.see(stamp)

    def status(self) -> RobotStatus:
        pub = self._read().get(self.publisher, {})
        ink = {k[4:].lower(): int(v) for k, v in pub.items() if k.startswith("INK_") and v.isdigit()}
        return RobotStatus(online=True, input_bins=(_int(pub.get("STACKER1")),),
                           output_bin=_int(pub.get("STACKER2")), ink_percent=ink,
                           cover_open=pub.get("COVER") == "OPEN", raw=dict(pub))

    def job_file(self, req: BurnRequest, job_id: str) -> str:
        """The text of the ``.JDF`` file."""
        lines = ["# written by robot_drivers.epson", f"JOB_ID={job_id}",
                 f"PUBLISHER={self.publisher}", f"COPIES={req.copies}",
                 f"DISC_TYPE={DISC_TYPES[req.media]}", "FORMAT=IMAGE",
                 f"IMAGE={req.image_path}", f"VOLUME_LABEL={req.volume_name[:16]}",
                 f"WRITING_SPEED={req.speed or 'MAX'}", f"COMPARE={'YES' if req.verify else 'NO'}"]
        if req.label and req.label.file:
            lines.append(f"LABEL={req.label.file}")
            lines.extend(f"REPLACE_FIELD={v}" for v in req.label.merge_fields)
        return "\n".join(lines) + "\n"

    def _burn(self, req: BurnRequest) -> BurnResult:
        job_id = job_id_for(req.job_id or "")
        base = self.job_folder / job_id
        self._heartbeat = Heartbeat()
        self._alive_age()
        write_atomic(base.with_suffix(".JDF"), self.job_file(req, job_id))
        deadline = time.monotonic() + self.job_timeout
        while True:
            sections = self._read()
            job = sections.get(job_id, {})
            if base.with_suffix(".DON").exists():
                return BurnResult(job_id=job_id, discs=self._discs(
                    req, int(job.get("COMPLETION_NUMBER", req.copies))))
            try:
                if base.with_suffix(".ERR").exists():
                    job = self._read().get(job_id, job)  # the status written with the .ERR
                    raise self._error(job, f"Epson job {job_id} failed")
                if base.with_suffix(".STP").exists() or job.get("STATUS") == "3":
                    raise self._error(job, f"Epson job {job_id} paused",
                                      default=errors.CoverOpen)
                age = self._alive_age()
                if age > self.offline_after:
                    raise errors.RobotOffline(f"TDBStatus.txt not rewritten for {age:.1f}s")
                if time.monotonic() > deadline:
                    raise errors.RobotTimeout(f"Epson job {job_id} not done in "
                                              f"{self.job_timeout}s")
            except errors.RobotError as exc:
                if not base.with_suffix(".ERR").exists():
                    write_atomic(base.with_suffix(".JCF"), f"[CANCEL]\nJOB_ID={job_id}\n")
                exc.discs = list(self._discs(req, int(job.get("COMPLETION_NUMBER", "0") or 0)))
                raise
            time.sleep(self.poll)

    def _error(self, job: dict[str, str], what: str,
               default: type[errors.RobotError] = errors.RobotError) -> errors.RobotError:
        code = job.get("ERROR", "")
        text, cls = ERRORS.get(code, (code or "unknown", default))
        return cls(f"{what}: {text}", code=code or None)

    def _discs(self, req: BurnRequest, good: int) -> tuple[DiscResult, ...]:
        label = str(req.label.file) if req.label and req.label.file else None
        return tuple(DiscResult(copy_index=k, ok=True, bin=Bin.OUTPUT, label_file=label)
                     for k in range(1, good + 1))


def _int(v: str | None) -> int | None:
    return int(v) if v and v.isdigit() else None
