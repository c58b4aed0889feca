"""Storage Commitment Push Model: the N-EVENT-REPORT lists what is durably stored, and only that."""

from __future__ import annotations

from pathlib import Path

from pydicom.uid import generate_uid
from pynetdicom import AE, evt

from publisher.demo import samples
from publisher.config import RemoteAE
from publisher.dicom.sop_classes import STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE
from tests.support.net import free_port
from tests.support.service import running_service, settings_for
from tests.support.commitment import commitment_request, report_catcher, store_study, uids_of










def test_commitment_on_the_same_association(tmp_path: Path, sqlite_url: str) -> None:
    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        stored = store_study(svc, tmp_path)
        unknown = [(str(samples.CT_IMAGE), generate_uid())]
        on_report, got, done = report_catcher()
        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context(STORAGE_COMMITMENT_PUSH)
        assoc = ae.associate("127.0.0.1", svc.settings.dicom.port, ae_title="DISCPUB", evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
        assert assoc.is_established
        request = commitment_request(stored, unknown)
        status, _ = assoc.send_n_action(request, 1, STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE)
        assert status.Status == 0x0000
        assert done.wait(10), "no N-EVENT-REPORT received"
        assoc.release()
    info = got["info"]
    assert got["type"] == 2  # some failures
    assert info.TransactionUID == request.TransactionUID
    assert uids_of(info.ReferencedSOPSequence) == {u for _, u in stored}
    assert uids_of(info.FailedSOPSequence) == {u for _, u in unknown}
    assert all(i.FailureReason == 0x0112 for i in info.FailedSOPSequence)


def test_commitment_reported_on_a_new_association_and_lost_file_not_committed(tmp_path: Path, sqlite_url: str) -> None:
    """The requester released before the report: we associate back to it (configured remote)."""
    back_port = free_port()
    on_report, got, done = report_catcher()

    scu_side = AE(ae_title="PYNETDICOM")
    scu_side.add_supported_context(STORAGE_COMMITMENT_PUSH, scu_role=True, scp_role=True)
    listener = scu_side.start_server(("127.0.0.1", back_port), block=False, evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    settings = settings_for(tmp_path / "svc", sqlite_url, remotes=(RemoteAE("PYNETDICOM", "127.0.0.1", back_port),))
    try:
        with running_service(settings) as svc:
            stored = store_study(svc, tmp_path)
            lost = stored.pop()  # its file disappears: must not be committed
            next(svc.archive.root.rglob(f"{lost[1]}.dcm")).unlink()
            ae = AE(ae_title="PYNETDICOM")
            ae.add_requested_context(STORAGE_COMMITMENT_PUSH)
            assoc = ae.associate("127.0.0.1", settings.dicom.port, ae_title="DISCPUB")
            status, _ = assoc.send_n_action(commitment_request(stored, [lost]), 1, STORAGE_COMMITMENT_PUSH, STORAGE_COMMITMENT_PUSH_INSTANCE)
            assoc.release()
            assert status.Status == 0x0000
            assert done.wait(15), "no N-EVENT-REPORT on a new association"
    finally:
        listener.shutdown()
    assert uids_of(got["info"].ReferencedSOPSequence) == {u for _, u in stored}
    assert uids_of(got["info"].FailedSOPSequence) == {lost[1]}


def test_all_committed_is_event_type_1(tmp_path: Path, sqlite_url: str) -> None:
    from publisher.dicom.commitment import check_commitment

    with running_service(settings_for(tmp_path / "svc", sqlite_url)) as svc:
        stored = store_study(svc, tmp_path)
        result = check_commitment(svc.db, svc.archive.root, "1.2.3", stored)
        event_type, info = result.event_report()
        assert event_type == 1 and "FailedSOPSequence" not in info
        wrong_class = check_commitment(svc.db, svc.archive.root, "1.2.3", [(str(samples.MR_IMAGE), stored[0][1])])
        assert wrong_class.failed[0][2] == 0x0119
