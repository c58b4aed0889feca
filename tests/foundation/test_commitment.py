"""Storage Commitment Push Model: the N-EVENT-REPORT lists what is durably stored, and only that."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid
from pynetdicom import AE, evt

from publisher.demo import samples
from publisher.config import RemoteAE
from publisher.dicom.sop_classes import STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE
from tests.conftest import free_port
from tests.foundation.helpers import running_service, settings_for


def _request(stored: list[tuple[str, str]], unknown: list[tuple[str, str]]) -> Dataset:
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


def _report_catcher() -> tuple[Callable[[evt.Event], tuple[int, None]], dict[str, Any], threading.Event]:
    """An EVT_N_EVENT_REPORT handler that keeps what it received and signals arrival."""
    got: dict[str, Any] = {}
    done = threading.Event()

    def on_report(event: evt.Event) -> tuple[int, None]:
        got["info"] = event.event_information
        got["type"] = event.request.EventTypeID
        done.set()
        return 0x0000, None

    return on_report, got, done


def _uids(seq: object) -> set[str]:
    return {str(i.ReferencedSOPInstanceUID) for i in (seq or [])}  # type: ignore[attr-defined]


def _store(svc, tmp: Path) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    spec = samples.StudySpec(samples.ASCII_PATIENT, "commit", series=(samples.SeriesSpec("ct", 3, 1, "", 16, 16),))
    out = []
    for p in samples.write_study(spec, tmp / "in"):
        s = svc.archive.store_file(p)
        out.append((str(samples.CT_IMAGE), s.sop_instance_uid))
    return out


def test_commitment_on_the_same_association(tmp_path: Path, sqlite_url: str) -> None:
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        stored = _store(svc, tmp_path)
        unknown = [(str(samples.CT_IMAGE), generate_uid())]
        on_report, got, done = _report_catcher()
        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context(STORAGE_COMMITMENT_PUSH)
        assoc = ae.associate("127.0.0.1", svc.settings.dicom.port, ae_title="DISCPUB", evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
        assert assoc.is_established
        request = _request(stored, unknown)
        status, _ = assoc.send_n_action(request, 1, STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE)
        assert status.Status == 0x0000
        assert done.wait(10), "no N-EVENT-REPORT received"
        assoc.release()
    info = got["info"]
    assert got["type"] == 2  # some failures
    assert info.TransactionUID == request.TransactionUID
    assert _uids(info.ReferencedSOPSequence) == {u for _, u in stored}
    assert _uids(info.FailedSOPSequence) == {u for _, u in unknown}
    assert all(i.FailureReason == 0x0112 for i in info.FailedSOPSequence)


def test_commitment_reported_on_a_new_association_and_lost_file_not_committed(tmp_path: Path, sqlite_url: str) -> None:
    """The requester released before the report: we associate back to it (configured remote)."""
    back_port = free_port()
    on_report, got, done = _report_catcher()

    scu_side = AE(ae_title="PYNETDICOM")
    scu_side.add_supported_context(STORAGE_COMMITMENT_PUSH, scu_role=True, scp_role=True)
    listener = scu_side.start_server(("127.0.0.1", back_port), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    settings = settings_for(tmp_path / "svc", sqlite_url, remotes=(RemoteAE("PYNETDICOM", "127.0.0.1", back_port),))
    try:
        with running_service(settings) as svc:
            stored = _store(svc, tmp_path)
            lost = stored.pop()  # its file disappears: must not be committed
            next(svc.archive.root.rglob(f"{lost[1]}.dcm")).unlink()
            ae = AE(ae_title="PYNETDICOM")
            ae.add_requested_context(STORAGE_COMMITMENT_PUSH)
            assoc = ae.associate("127.0.0.1", settings.dicom.port, ae_title="DISCPUB")
            status, _ = assoc.send_n_action(_request(stored, [lost]), 1, STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE)
            assoc.release()
            assert status.Status == 0x0000
            assert done.wait(15), "no N-EVENT-REPORT on a new association"
    finally:
        listener.shutdown()
    assert _uids(got["info"].ReferencedSOPSequence) == {u for _, u in stored}
    assert _uids(got["info"].FailedSOPSequence) == {lost[1]}


def test_all_committed_is_event_type_1(tmp_path: Path, sqlite_url: str) -> None:
    from publisher.dicom.commitment import check_commitment

    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        stored = _store(svc, tmp_path)
        result = check_commitment(svc.db, svc.archive.root, "1.2.3", stored)
        event_type, info = result.event_report()
        assert event_type == 1 and "FailedSOPSequence" not in info
        wrong_class = check_commitment(svc.db, svc.archive.root, "1.2.3", [(str(samples.MR_IMAGE), stored[0][1])])
        assert wrong_class.failed[0][2] == 0x0119
