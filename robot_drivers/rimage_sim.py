"""Simulator of the Rimage order gateway: XML orders in, ProductionOrderStatus XML out."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from robot_drivers.hotfolder import HotFolderSimulator, SimJob, read_text, write_atomic
from robot_drivers.model import Fault

CODES = {Fault.COVER_OPEN: "COVER_OPEN", Fault.EMPTY_INPUT_BIN: "INPUT_EMPTY",
         Fault.PRINTER_FAILURE: "PRINTER", Fault.DRIVE_FAILURE: "DRIVE",
         Fault.VERIFY_FAILURE: "VERIFY"}


class RimageSimulator(HotFolderSimulator):
    """Takes ``<OrderId>.xml``, writes ``<OrderId>.status.xml`` and ``ServerStatus.xml``."""

    def __init__(self, folder: Path, **kw: object) -> None:
        self._done: set[str] = set()
        self._condition: Fault | None = None
        super().__init__(folder, **kw)  # type: ignore[arg-type]

    def heartbeat(self, condition: Fault | None) -> None:
        attrs = {"Heartbeat": str(self.tick), "InputBin": str(self.blanks),
                 "OutputBin": str(len(self.ledger.records)),
                 "Cover": "OPEN" if condition is Fault.COVER_OPEN else "CLOSED",
                 "Ribbon": "0" if condition is Fault.PRINTER_FAILURE else "75"}
        write_atomic(self.folder / "ServerStatus.xml",
                     ET.tostring(ET.Element("ServerStatus", attrs), encoding="unicode"))

    def scan(self) -> list[SimJob]:
        found = []
        for order in sorted(self.folder.glob("*.xml")):
            if order.name.count(".") > 1 or order.name == "ServerStatus.xml":
                continue
            root = ET.fromstring(read_text(order) or "<Orders/>")
            order.rename(order.with_suffix(".accepted"))
            prod = root.find("ProductionOrder")
            if prod is None:
                continue
            record = prod.find("Record")
            label = prod.find("Label")
            job = SimJob(prod.get("OrderId", order.stem),
                         Path(record.get("ImageFile", "") if record is not None else ""),
                         int(prod.get("Copies", "1")),
                         label.get("File") if label is not None else None,
                         record is None or record.get("Verify") != "false")
            self._write(job, "RECEIVED", "Queued", None)
            found.append(job)
        return found

    def _write(self, job: SimJob, state: str, stage: str, fault: Fault | None,
               message: str = "") -> None:
        el = ET.Element("ProductionOrderStatus", {
            "OrderId": job.job_id, "State": state, "Stage": stage,
            "PercentCompleted": str(100 * job.good // max(job.copies, 1)),
            "GoodDiscs": str(job.good), "BadDiscs": str(job.bad)})
        if fault is not None:
            el.set("ErrorCode", CODES[fault])
            ET.SubElement(el, "ErrorMessage").text = message or CODES[fault]
        write_atomic(self.folder / f"{job.job_id}.status.xml",
                     ET.tostring(el, encoding="unicode"), encoding="utf-8")

    def report(self, job: SimJob, condition: Fault | None) -> None:
        if condition is not None:
            self._write(job, "IN_PROCESS", "Paused", condition, f"{condition.value}: waiting")
        else:
            self._write(job, "IN_PROCESS", "Recording", None)
        if condition is not self._condition:
            self._condition = condition
            self.heartbeat(condition)

    def finish(self, job: SimJob, error: Fault | None) -> None:
        if job.cancelled:
            self._write(job, "CANCELLED", "Cancelled", None)
        elif error is not None:
            self._write(job, "FAILED", "Recording" if error is Fault.DRIVE_FAILURE
                        else "Verifying", error)
        else:
            self._write(job, "COMPLETED", "Done", None)
        self._condition = None
        self.heartbeat(None)

    def is_cancelled(self, job: SimJob) -> bool:
        cancel = self.folder / f"{job.job_id}.cancel.xml"
        if cancel.exists():
            cancel.unlink()
            return True
        return False
