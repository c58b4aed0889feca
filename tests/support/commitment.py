"""Storage commitment test set-up: a study stored, an N-ACTION request for it, and a catcher for the N-EVENT-REPORT."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid
from pynetdicom import evt

from publisher.demo import samples


def report_catcher() -> tuple[Callable[[evt.Event], tuple[int, None]], dict[str, Any], threading.Event]:
    """An EVT_N_EVENT_REPORT handler that keeps what it received and signals arrival."""
    got: dict[str, Any] = {}
    done = threading.Event()

    def on_report(event: evt.Event) -> tuple[int, None]:
        got["info"] = event.event_information
        got["type"] = event.request.EventTypeID
        done.set()
        return 0x0000, None

    return on_report, got, done


def commitment_request(stored: list[tuple[str, str]], unknown: list[tuple[str, str]]) -> Dataset:
    ds = Dataset()
    ds.TransactionUID = generate_uid()
    items = []
    for cls, uid in stored + unknown:
        item = Dataset()
        item.ReferencedSOPClassUID = cls
        item.ReferencedSOPInstanceUID = uid
        items.append(item)
    ds.ReferencedSOPSequence = DicomSequence(items)
    return ds


def store_study(svc, tmp: Path) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    spec = samples.StudySpec(samples.ASCII_PATIENT, "commit", series=(samples.SeriesSpec("ct", 3, 1, "", 16, 16),))
    out = []
    for p in samples.write_study(spec, tmp / "in"):
        s = svc.archive.store_file(p)
        out.append((str(samples.CT_IMAGE), s.sop_instance_uid))
    return out


def uids_of(seq: object) -> set[str]:
    return {str(i.ReferencedSOPInstanceUID) for i in (seq or [])}  # type: ignore[attr-defined]

