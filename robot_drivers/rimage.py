"""Rimage through XML orders in a hot folder, status XML beside them (our adapter's exchange).

Rimage validates orders against its DTDs: an ``ImageOrder`` (ISO/Joliet or UDF image)
followed by a ``ProductionOrder`` (copies, media, record, label + merge data). Rimage's
own API delivers ``ImageOrderStatus`` / ``ProductionOrderStatus`` through a client
library; writing ``<OrderId>.xml`` into a folder and reading ``<OrderId>.status.xml``
is OUR adapter's choice (a gateway beside the Rimage software), not a confirmed Rimage
feature: see docs/robots.md. ``ServerStatus.xml`` carries the gateway's heartbeat.
"""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from pathlib import Path

from robot_drivers import errors
from robot_drivers.hotfolder import Heartbeat, read_text, write_atomic
from robot_drivers.interface import Robot
from robot_drivers.model import (Bin, BurnRequest, BurnResult, Capabilities, DiscResult,
                                 MediaType, RobotStatus)

#: ErrorCode of our gateway's status -> typed error (our vocabulary; to map on a real system)
ERRORS: dict[str, type[errors.RobotError]] = {
    "INPUT_EMPTY": errors.EmptyInputBin, "COVER_OPEN": errors.CoverOpen,
    "PRINTER": errors.PrinterFailure, "DRIVE": errors.DriveFailure,
    "VERIFY": errors.VerifyFailure, "INVALID_ORDER": errors.JobRejected,
}
MEDIA = {MediaType.CD_R: "CDR", MediaType.DVD_R: "DVDR", MediaType.DVD_R_DL: "DVDR-DL",
         MediaType.BD_R: "BDR"}


def production_order(req: BurnRequest, client_id: str) -> str:
    """The XML of one order: an ImageOrder of the pre-mastered image + a ProductionOrder."""
    root = ET.Element("Orders")
    image = ET.SubElement(root, "ImageOrder", OrderId=f"{req.job_id}-IMG", ClientId=client_id)
    ET.SubElement(image, "Format").text = "ISO"
    ET.SubElement(image, "VolumeName").text = req.volume_name[:32]
    ET.SubElement(image, "ImageFile").text = str(req.image_path)
    prod = ET.SubElement(root, "ProductionOrder", OrderId=req.job_id or "", ClientId=client_id,
                         Copies=str(req.copies))
    ET.SubElement(prod, "Media", Type=MEDIA[req.media])
    ET.SubElement(prod, "Record", ImageFile=str(req.image_path),
                  Verify="true" if req.verify else "false", Speed=str(req.speed))
    if req.label and req.label.file:
        label = ET.SubElement(prod, "Label", File=str(req.label.file))
        for value in req.label.merge_fields:
            ET.SubElement(label, "MergeField").text = value
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


class RimageHotFolder(Robot):
    """Driver of a Rimage system through an order/status folder."""

    kind = "rimage"

    def __init__(self, name: str | None = None, *, order_folder: Path | str,
                 client_id: str = "PUBLISHER", poll: float = 1.0, offline_after: float = 30.0,
                 job_timeout: float = 4 * 3600.0, **kw: object) -> None:
        super().__init__(name, **kw)  # type: ignore[arg-type]
        self.folder = Path(order_folder)
        self.client_id = client_id
        self.poll = poll
        self.offline_after = offline_after
        self.job_timeout = job_timeout
        self._heartbeat = Heartbeat()

    def capabilities(self) -> Capabilities:
        return Capabilities(kind=self.kind, drives=2, media_types=tuple(MediaType),
                            printer_dpi=300, sequenced_by_us=False)

    def _server(self) -> ET.Element:
        text = read_text(self.folder / "ServerStatus.xml")
        if not text:
            raise errors.RobotOffline(f"Rimage gateway status {self.folder}/ServerStatus.xml missing")
        return ET.fromstring(text)

    def status(self) -> RobotStatus:
        server = self._server()
        return RobotStatus(online=True, input_bins=(int(server.get("InputBin", "0")),),
                           output_bin=int(server.get("OutputBin", "0")),
                           ink_percent={"ribbon": int(server.get("Ribbon", "0"))},
                           cover_open=server.get("Cover") == "OPEN", raw=dict(server.attrib))

    def _order_status(self, order_id: str) -> ET.Element | None:
        text = read_text(self.folder / f"{order_id}.status.xml")
        try:
            return ET.fromstring(text) if text else None
        except ET.ParseError:
            return None  # being rewritten

    def _burn(self, req: BurnRequest) -> BurnResult:
        order_id = req.job_id or "ORDER"
        self._heartbeat = Heartbeat()
        self._heartbeat.see(self._server().get("Heartbeat"))
        write_atomic(self.folder / f"{order_id}.xml", production_order(req, self.client_id),
                     encoding="utf-8")
        deadline = time.monotonic() + self.job_timeout
        while True:
            st = self._order_status(order_id)
            state = st.get("State", "") if st is not None else ""
            good = int(st.get("GoodDiscs", "0")) if st is not None else 0
            if state == "COMPLETED":
                return BurnResult(job_id=order_id, discs=self._discs(req, good))
            try:
                if state in ("FAILED", "CANCELLED") or (st is not None and st.get("ErrorCode")):
                    code = st.get("ErrorCode", "") if st is not None else ""
                    msg = st.findtext("ErrorMessage", "") if st is not None else ""
                    raise ERRORS.get(code, errors.RobotError)(
                        f"Rimage order {order_id} {state.lower() or 'stopped'} at stage "
                        f"{st.get('Stage', '?') if st is not None else '?'}: {msg}", code=code)
                age = self._heartbeat.see(self._server().get("Heartbeat"))
                if age > self.offline_after:
                    raise errors.RobotOffline(f"Rimage gateway heartbeat still for {age:.1f}s")
                if time.monotonic() > deadline:
                    raise errors.RobotTimeout(f"Rimage order {order_id} not done in "
                                              f"{self.job_timeout}s")
            except errors.RobotError as exc:
                if state not in ("FAILED", "CANCELLED"):
                    write_atomic(self.folder / f"{order_id}.cancel.xml",
                                 f'<CancelOrder OrderId="{order_id}" ClientId="{self.client_id}"/>')
                exc.discs = list(self._discs(req, good))
                raise
            time.sleep(self.poll)

    def _discs(self, req: BurnRequest, good: int) -> tuple[DiscResult, ...]:
        label = str(req.label.file) if req.label and req.label.file else None
        return tuple(DiscResult(copy_index=k, ok=True, bin=Bin.OUTPUT, label_file=label)
                     for k in range(1, good + 1))
