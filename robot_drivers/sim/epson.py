"""Simulator of TD Bridge, from the "TD Bridge Technical Reference Guide" (PP-100N edition
M00009302 Rev.C, PP-100II edition Rev.L; pages cited inline).

As the guide says: JDF keys are case sensitive, a key with lower-case letters or spaces
around it is ignored as an invalid command, the value runs from ``=`` to the end of the line,
``#`` starts a comment line (p. 41, p. 39); the life cycle ``.JDF -> .RJD -> .INP -> .DON |
.ERR``, ``.STP`` while paused and back to ``.INP`` when the cause is cleared (PP-100II p. 8);
a job refused before acceptance gets ``.ERR``, ``STATUS=6`` and the error code of p. 65
(``JDF0100`` a used JOB_ID, ``JDF0200`` an unregistered PUBLISHER, ``JDF0300`` too many
copies, ``JDF0400`` OUT_STACKER, ``JDF0500``-``0502`` DISC_TYPE, ``JDF0600`` a WRITING_SPEED
that is not a number, ``JDF0700`` COMPARE); ``TDBStatus.txt`` rewritten every 5 s with the keys
of pp. 61-62 and 74-76; a ``.JCF`` cancel answered ``.CDN`` or ``.CER``, the cancelled job's
``.INP`` becoming ``.DON`` (PP-100II p. 8); finished job files move to the log folder one to
two hours later (p. 7), and a JOB_ID is "used" while its files are there.

Where the guide is silent: a FORMAT outside its list, DATA or LABEL the TD Bridge PC cannot
open, or a LABEL that is no .tdd are refused with ``STATUS=6`` and no error code (the codes
for these keys are not in the pages we found); a rejected disc is counted in
``ERRORDISC_NUMBER`` among the published ones and not made again; abnormal runtime errors
carry no code.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from robot_drivers.model import Fault
from robot_drivers.sim.hotfolder import HotFolderSimulator, SimJob, render_sections, tree_digest, write_text

FORMATS = ("ISO9660L2", "Joliet", "UDF102", "UDF150", "UDF102_BRIDGE", "UDF260")  # PP-100II p. 50
DISC_TYPES = ("CD", "DVD", "DVD-DL")  # p. 65, JDF0502
#: the keys the guide documents for data discs and labels (pp. 39-46)
KEYS = frozenset("""JOB_ID PUBLISHER COPIES OUT_STACKER IN_STACKER DISC_TYPE FORMAT DATA DATA_LIST
VOLUME_LABEL LABEL REPLACE_FIELD PRIORITY WRITING_SPEED COMPARE CLOSE_DISC VIDEO VIDEO_TITLE
AUDIO_TRACK AUDIO_TITLE""".split())
_KEY = re.compile(r"[A-Z0-9_]+")


def parse_jdf(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The valid ``KEY=value`` lines in order, and the lines ignored as invalid commands."""
    keys, ignored = [], []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not _KEY.fullmatch(key):  # lower case or spaces: invalid (p. 41)
            ignored.append(line)
            continue
        keys.append((key, value))
    return keys, ignored


class TDBridgeSimulator(HotFolderSimulator):
    """Watches ``folder`` like TD Bridge's monitoring folder, as the robot PC ``robot_root``."""

    status_period = 5.0  # "updated every five seconds" (p. 61)

    def __init__(self, folder: Path, *, publishers: tuple[str, ...] = ("PP-100N",), loaded: str = "CD",
                 copies_limit: int = 1000, log_after: float = 3600.0, **kw: Any) -> None:
        self.publishers = publishers
        self.loaded = loaded  # the disc type set for the source stacker (JDF0500)
        self.copies_limit = copies_limit
        self.log_after = log_after
        self.sections: dict[str, dict[str, object]] = {}
        self.active: list[str] = []
        self.complete: list[str] = []
        self.finished_at: dict[str, float] = {}
        self._condition: Fault | None = None
        super().__init__(folder, **kw)

    def heartbeat(self, condition: Fault | None) -> None:
        sections: dict[str, dict[str, object]] = {
            "ACTIVE_JOB": {f"JOB{i + 1}": j for i, j in enumerate(self.active)},
            "COMPLETE_JOB": {f"JOB{i + 1}": j for i, j in enumerate(self.complete)},
        }
        sections.update({k: dict(v) for k, v in self.sections.items()})
        ink = 0 if (condition or self._condition) is Fault.PRINTER_FAILURE else 76
        for n, name in enumerate(self.publishers, 1):
            sections[f"PUBLISHER{n}"] = {"NAME": name, "STACKER1": self.blanks, "STACKER2": len(self.ledger.records),
                                         "STACKER3": -1, "STACKER4": 0, "INK_C": ink, "INK_M": 76, "INK_Y": 75,
                                         "INK_LC": 75, "INK_LM": 76, "INK_B": 76}
        write_text(self.folder / "TDBStatus.txt", render_sections(sections))

    def housekeeping(self) -> None:
        """Finished job files go to the log folder "after one or two hours" (p. 7)."""
        log = self.folder / "log"
        now = time.monotonic()
        for job_id, at in list(self.finished_at.items()):
            if now - at >= self.log_after:
                log.mkdir(exist_ok=True)
                for path in self.folder.glob(f"{job_id}.*"):
                    path.replace(log / path.name)
                self.sections.pop(job_id, None)
                self.complete.remove(job_id)
                del self.finished_at[job_id]

    # -- jobs ------------------------------------------------------------------------------------
    def scan(self) -> list[SimJob]:
        found = []
        for jdf in sorted(self.folder.glob("*.JDF")):
            rjd = jdf.with_suffix(".RJD")
            jdf.replace(rjd)
            keys, ignored = parse_jdf(rjd.read_text(encoding="cp1252", errors="replace"))
            self.ignored += [f"{jdf.name}: {line}" for line in ignored]
            self.ignored += [f"{jdf.name}: {k}" for k, _ in keys if k not in KEYS]
            values = dict(keys)
            job_id = values.get("JOB_ID") or f"TDB{len(self.sections) + 1:04d}"
            job = SimJob(job_id, rjd.with_suffix(""), 1, None)
            code = self._refusal(job, values)
            if code is not None:
                self.sections[job_id] = {"STATUS": 6, "ERROR": code}
                self.heartbeat(None)
                rjd.replace(rjd.with_suffix(".ERR"))
                continue
            self.sections[job_id] = {"STATUS": 1, "ERROR": ""}  # preprocessing (p. 62)
            self.active.append(job_id)
            rjd.replace(rjd.with_suffix(".INP"))
            found.append(job)
        return found

    def _refusal(self, job: SimJob, values: dict[str, str]) -> str | None:
        """The error code of p. 65 refusing the job, "" when refused without a documented code."""
        if job.job_id in self.sections:
            return "JDF0100"
        if len(job.job_id) > 40:
            return "JDF0101"
        if not re.fullmatch(r"[A-Za-z0-9_-]+", job.job_id):
            return "JDF0102"
        if values.get("PUBLISHER", self.publishers[0]) not in self.publishers:
            return "JDF0200"
        copies = values.get("COPIES", "1")
        if not copies.isdigit() or not 1 <= int(copies) <= self.copies_limit:
            return "JDF0300"
        if values.get("OUT_STACKER", "2") not in ("2", "4"):
            return "JDF0400"
        if "DISC_TYPE" not in values:
            return "JDF0501"
        if values["DISC_TYPE"] not in DISC_TYPES:
            return "JDF0502"
        if values["DISC_TYPE"] != self.loaded:
            return "JDF0500"
        if "WRITING_SPEED" in values and not values["WRITING_SPEED"].isdigit():
            return "JDF0600"
        if values.get("COMPARE", "YES") not in ("YES", "NO"):
            return "JDF0700"
        if values.get("FORMAT", "Joliet") not in FORMATS:
            return ""
        source = self.pc.resolve(values.get("DATA", "").split("\t")[0])  # DATA=source(TAB)dest (p. 46)
        if source is None:
            return ""
        if "LABEL" in values:
            label = self.pc.resolve(values["LABEL"])
            if label is None or label.suffix.lower() != ".tdd":
                return ""
            job.label = self.keep_label(job.job_id, label)
        if "REPLACE_FIELD" in values and self.pc.resolve(values["REPLACE_FIELD"]) is None:
            return ""
        job.copies = int(copies)
        job.verify = values.get("COMPARE", "YES") == "YES"
        job.content = tree_digest(source) if source.is_dir() else None
        job.info["out_stacker"] = values.get("OUT_STACKER", "2")
        return None

    def wants_more(self, job: SimJob) -> bool:
        return job.good + job.bad < job.copies  # a rejected disc is not made again

    def disc_failed(self, job: SimJob, why: str) -> bool:
        return True

    def report(self, job: SimJob, condition: Fault | None) -> None:
        inp, stp = job.base.with_suffix(".INP"), job.base.with_suffix(".STP")
        if condition is not None and inp.exists():
            inp.replace(stp)  # "The INP file ... is changed to STP file" (PP-100II p. 8)
        if condition is None and stp.exists():
            stp.replace(inp)
        self.sections[job.job_id] = self._job_keys(job, 3 if condition else 2)
        if condition is not self._condition:
            self._condition = condition
            self.heartbeat(condition)

    def _job_keys(self, job: SimJob, status: int) -> dict[str, object]:
        return {"PUBLISHER": self.publishers[0], "STATUS": status, "PUBLICATION_NUMBER": job.copies,
                "COMPLETION_NUMBER": job.good + job.bad, "ERRORDISC_NUMBER": job.bad, "TYPE": 3,
                "IN_STACKER": 1, "OUT_STACKER": job.info.get("out_stacker", "2"), "ESTIMATION_TIME": 133,
                "ERROR": ""}

    def finish(self, job: SimJob, failure: tuple[int, str] | None) -> None:
        current = next((job.base.with_suffix(s) for s in (".INP", ".STP") if job.base.with_suffix(s).exists()), None)
        self.sections[job.job_id] = self._job_keys(job, 5 if failure else 4)  # a cancel ends STATUS=4, .DON
        self.active.remove(job.job_id)
        self.complete.insert(0, job.job_id)  # "written from a job completed most recently"
        self.finished_at[job.job_id] = time.monotonic()
        self._condition = None
        self.heartbeat(None)  # the status first, then the job file's final name
        if current is not None:
            current.replace(current.with_suffix(".ERR" if failure else ".DON"))

    def is_cancelled(self, job: SimJob) -> bool:
        """A ``.JCF`` naming the job in ``[CANCEL]`` (PP-100II p. 97), renamed ``.CDN``/``.CER``."""
        hit = False
        for jcf in self.folder.glob("*.JCF"):
            text = jcf.read_text(encoding="cp1252", errors="replace")
            section = text.split("[CANCEL]", 1)[1] if "[CANCEL]" in text else ""
            wanted = dict(parse_jdf(section)[0]).get("JOB_ID")
            if wanted == job.job_id:
                jcf.replace(jcf.with_suffix(".CDN"))
                hit = True
            elif wanted not in self.active:
                jcf.replace(jcf.with_suffix(".CER"))
        return hit
