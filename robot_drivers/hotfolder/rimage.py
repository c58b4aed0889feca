"""Rimage through Network Publisher ``.nwp`` hot-folder scripts. EXPERIMENTAL.

Rimage documents its production interfaces (the Rapid API, the XML orders of its messaging
library) for its own client libraries, not as a file exchange. The one public description of
a file-based order we found is in a CopyTrax manual ("ArtMaster 600" specifications, Disc
Manager appendix p. 75: "NWP - Rimage Network Publisher Multi-Platform (scripts for Rimage
duplicators)"): a ``.nwp`` file in a monitored folder is renamed ``.INP`` while it runs, then
``.DON`` when done or ``.ERR`` with a ``.LOG`` file describing the error; its commands are
``order_id``, ``filetype=IMAGE`` (or ``PARENT``), ``file`` (NRG or ISO image), ``volume``,
``label`` (PRN, DML, BTW or PDF), ``merge`` and ``copies``.

What that page does not say, and this driver therefore assumes (docs/robots.md, "to check"):
the exact line syntax (we write ``key=value``, as ``filetype=IMAGE`` is printed), that a
``.DON`` means every copy was made (no count is reported), that there is no status file
(so no liveness tick: the driver can only see its own files move) and no cancel. It is off
the defaults: :func:`robot_drivers.create` refuses it unless ``experimental=True``.
"""
from __future__ import annotations

import os
from typing import Any

from PIL import Image

from robot_drivers import errors
from robot_drivers.hotfolder.files import read_text, suffixes, write_atomic
from robot_drivers.hotfolder.job import HotFolderRobot, Observed, State
from robot_drivers.model import BurnRequest, RobotStatus

#: label file types Network Publisher scripts take (CopyTrax p. 75)
LABEL_TYPES = (".prn", ".dml", ".btw", ".pdf")


class RimageNetworkPublisher(HotFolderRobot):
    """Driver of a Rimage system via Network Publisher ``.nwp`` scripts (experimental)."""

    kind = "rimage"
    title = "Network Publisher"
    experimental = True
    id_length = 32  # not documented: kept as short as PTBurn's

    def __init__(self, name: str | None = None, **kw: Any) -> None:
        kw.setdefault("offline_after", 600.0)  # no status tick: only our job file's moves count
        super().__init__(name, **kw)
        self._withdrawn: set[str] = set()

    def alive_marker(self) -> str | None:
        """No status file is documented: the job folder's own time stamp stands in (it changes
        when the software renames our file), so only a folder that vanishes reads as offline."""
        try:
            return str(os.stat(self.job_folder).st_mtime_ns)
        except FileNotFoundError:
            return None

    def wait_alive(self) -> None:
        if self.alive_marker() is None:
            raise errors.RobotOffline(self.offline_message(None))

    def status(self) -> RobotStatus:
        self.wait_alive()
        return RobotStatus(online=True, errors=("Network Publisher reports no robot status",))

    def script(self, req: BurnRequest, attempt: str) -> str:
        """The ``.nwp`` text for ``attempt``."""
        image = self.share.visible(req.image_path, attempt, "image")[0]
        lines = [f"order_id={attempt}", "filetype=IMAGE", f"file={image}", f"copies={req.copies}"]
        if req.label is not None and req.label.file is not None:
            source = req.label.file
            if source.suffix.lower() not in LABEL_TYPES:
                pdf = self.share.staging(attempt) / "LABEL.PDF"
                with Image.open(source) as img:
                    img.convert("RGB").save(pdf, "PDF")
                source = pdf
            lines.append(f"label={self.share.visible(source, attempt, 'label')[0]}")
        return "\n".join(lines) + "\n"

    def submit(self, req: BurnRequest, attempt: str) -> None:
        write_atomic((self.job_folder / attempt).with_suffix(".nwp"), self.script(req, attempt), encoding="cp1252")

    def send_cancel(self, req: BurnRequest, attempt: str) -> None:
        """No cancel is documented: an order not yet taken is withdrawn; a running one goes on."""
        script = (self.job_folder / attempt).with_suffix(".nwp")
        if script.exists():
            self._withdrawn.add(attempt)
            script.unlink(missing_ok=True)

    def observe(self, req: BurnRequest, attempt: str) -> Observed:
        base = self.job_folder / attempt
        present = suffixes(self.job_folder, attempt)
        if ".DON" in present:
            return Observed(State.DONE, req.copies)  # no count reported: see the module docstring
        if ".ERR" in present:
            log = (read_text(base.with_suffix(".LOG")) or "").strip() or "no .LOG description"
            return Observed(State.FAILED, error=errors.RobotError(f"Network Publisher order {attempt} failed: {log}"))
        if ".INP" in present:
            return Observed(State.RUNNING)
        if ".NWP" not in present and attempt in self._withdrawn:  # withdrawn before it was taken
            return Observed(State.FAILED, cancelled=True)
        return Observed(State.PENDING)
