"""Simulator of a Network Publisher hot folder, from the one public description we found: the
CopyTrax "ArtMaster 600" specifications, Disc Manager appendix p. 75 ("NWP - Rimage Network
Publisher Multi-Platform").

As that page says: it watches the folder for ``*.nwp`` files, renames one ``.INP`` while it
runs, then ``.DON`` if successful or ``.ERR`` plus a ``.LOG`` file describing the error; it
takes ``order_id``, ``filetype`` (``IMAGE`` or ``PARENT``), ``file`` (an NRG or ISO image, or a
folder), ``volume``, ``label`` (PRN, DML, BTW or PDF), ``merge`` and ``copies``. The page gives
no line syntax, no status file and no cancel; this simulator reads ``key=value`` lines (as
``filetype=IMAGE`` is printed), lists other keys in :attr:`ignored`, writes no status and
reports a disc failure as an ``.ERR`` with its ``.LOG``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from robot_drivers.manifest import sha256_of
from robot_drivers.model import Fault
from robot_drivers.sim.hotfolder import HotFolderSimulator, SimJob, tree_digest, write_text

KEYS = frozenset({"order_id", "filetype", "file", "volume", "label", "merge", "copies"})
LABELS = (".prn", ".dml", ".btw", ".pdf")
IMAGES = (".iso", ".nrg")


class NetworkPublisherSimulator(HotFolderSimulator):
    """Takes ``*.nwp`` scripts from ``folder`` (the robot PC's ``robot_root``)."""

    supported_faults = (Fault.DRIVE_FAILURE, Fault.VERIFY_FAILURE, Fault.COVER_OPEN,
                        Fault.EMPTY_INPUT_BIN, Fault.PRINTER_FAILURE)

    def __init__(self, folder: Path, **kw: Any) -> None:
        super().__init__(folder, **kw)

    def heartbeat(self, condition: Fault | None) -> None:
        """No status file is described."""

    def scan(self) -> list[SimJob]:
        found = []
        for nwp in sorted(self.folder.glob("*.nwp")):
            inp = nwp.with_suffix(".INP")
            nwp.replace(inp)
            values: dict[str, str] = {}
            for line in inp.read_text(encoding="cp1252", errors="replace").splitlines():
                key, sep, value = line.partition("=")
                if not sep or key.strip() not in KEYS:
                    self.ignored.append(f"{nwp.name}: {line}")
                else:
                    values[key.strip()] = value.strip()
            job = SimJob(values.get("order_id", nwp.stem), inp.with_suffix(""), 1, None)
            problem = self._problem(job, values)
            if problem:
                self._fail(job, problem)
                continue
            found.append(job)
        return found

    def _problem(self, job: SimJob, values: dict[str, str]) -> str:
        if not values.get("copies", "1").isdigit() or int(values.get("copies", "1")) < 1:
            return f"copies {values.get('copies')!r} is not a number of copies"
        job.copies = int(values.get("copies", "1"))
        source = self.pc.resolve(values.get("file", ""))
        kind = values.get("filetype", "")
        if kind == "IMAGE" and (source is None or source.suffix.lower() not in IMAGES):
            return f"image {values.get('file')!r} not found (NRG or ISO)"
        if kind == "PARENT" and (source is None or not source.is_dir()):
            return f"folder {values.get('file')!r} not found"
        if source is None:
            return f"filetype {kind!r}: IMAGE or PARENT"
        job.content = sha256_of(source) if source.is_file() else tree_digest(source)
        if "label" in values:
            label = self.pc.resolve(values["label"])
            if label is None or label.suffix.lower() not in LABELS:
                return f"label {values['label']!r} not found (PRN, DML, BTW or PDF)"
            job.label = self.keep_label(job.job_id, label)
        return ""

    def _fail(self, job: SimJob, why: str) -> None:
        write_text(job.base.with_suffix(".LOG"), why + "\n")
        job.base.with_suffix(".INP").replace(job.base.with_suffix(".ERR"))

    def report(self, job: SimJob, condition: Fault | None) -> None:
        """Nothing is written while a job runs (no status is described)."""

    def wants_more(self, job: SimJob) -> bool:
        return job.good + job.bad < job.copies

    def disc_failed(self, job: SimJob, why: str) -> bool:
        return False

    def finish(self, job: SimJob, failure: tuple[int, str] | None) -> None:
        if failure is not None:
            self._fail(job, f"disc {failure[0]}: {failure[1]} error")
        elif not job.cancelled:
            job.base.with_suffix(".INP").replace(job.base.with_suffix(".DON"))

    def is_cancelled(self, job: SimJob) -> bool:
        return False  # no cancel is described
