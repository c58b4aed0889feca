"""A PACS orders discs over DICOM (PS3.4 Annex S): pynetdicom as the Media Creation Management
SCU against our running service, Orthanc holding the instances we lack, the simulator robot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.association import Association

from publisher.archive import lookup
from publisher.config import AllowedCaller, ConfigError, RemoteAE, Settings, load_settings
from publisher.config.model import MEDIA_CREATION_MEDIA
from publisher.db.models import DiscJob
from publisher.db.session import Database
from publisher.demo import samples
from publisher.dicom.sop_classes import MEDIA_CREATION_MANAGEMENT, VERIFICATION
from publisher.jobs import media_requests
from publisher.jobs.state import JobState
from publisher.media import MediaType
from publisher.service import Service
from tests.support.net import free_port
from tests.support.peers import orthanc, orthanc_upload
from tests.support.qr_studies import QR_CALLERS, STUDIES
from tests.support.service import running_service, settings_for
from tests.support.tools import require_tool

pytestmark = pytest.mark.interop

HELD, REMOTE = STUDIES[3], STUDIES[4]  # cr-chest filed with us, ct-abd only at Orthanc


@dataclass
class Rig:
    service: Service
    settings: Settings
    held: list[Dataset]  # (SOP Class, SOP Instance) of what we hold
    remote: list[Dataset]  # ... and of what only Orthanc has


def _refs(files: list[Path]) -> list[Dataset]:
    out = []
    for f in files:
        ds = dcmread(f, stop_before_pixels=True)
        item = Dataset()
        item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
        out.append(item)
    return out


def _settings(tmp: Path, url: str, port: int, remotes: tuple[RemoteAE, ...], time_scale: float = 0.002) -> Settings:
    s = settings_for(tmp / "svc", url, port=port, allowed_callers=(*QR_CALLERS, AllowedCaller("MODALITY")),
                     remotes=remotes)
    return replace(s, robot="simulator", robot_options=(("time_scale", time_scale),), jobs=replace(s.jobs, tick_seconds=0.05))


@pytest.fixture
def rig(sqlite_url: str, tmp_path: Path) -> Iterator[Rig]:
    require_tool("Orthanc", "echoscu")
    our_port = free_port()
    held = samples.write_study(HELD, tmp_path / "src" / HELD.key)
    remote = samples.write_study(REMOTE, tmp_path / "src" / REMOTE.key)
    with orthanc(tmp_path / "orthanc", "DISCPUB", our_port) as (port, http):
        orthanc_upload(http, remote)
        settings = _settings(tmp_path, sqlite_url, our_port, (RemoteAE("ORTHANC", "127.0.0.1", port),))
        with running_service(settings) as service:
            for f in held:
                service.archive.store_file(f)
            yield Rig(service, settings, _refs(held), _refs(remote))


def _associate(settings: Settings, aet: str = "PYNETDICOM") -> Association:
    ae = AE(ae_title=aet)
    ae.add_requested_context(MEDIA_CREATION_MANAGEMENT)
    assoc = ae.associate("127.0.0.1", settings.dicom.port, ae_title=settings.dicom.ae_title)
    assert assoc.is_established
    return assoc


def _request(refs: list[Dataset], copies: int | None = 1, **attrs: object) -> Dataset:
    ds = Dataset()
    ds.ReferencedSOPSequence = refs
    if copies is not None:
        ds.NumberOfCopies = copies
    ds.LabelText = "Ordered by PACS"
    ds.RequestPriority = "MED"
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


def _create(assoc: Association, ds: Dataset) -> tuple[int, str]:
    uid = generate_uid()
    status, _ = assoc.send_n_create(ds, MEDIA_CREATION_MANAGEMENT, uid)
    return int(status.Status), uid


def _action(assoc: Association, uid: str, action: int) -> int:
    status, _ = assoc.send_n_action(None, action, MEDIA_CREATION_MANAGEMENT, uid)
    return int(status.Status)


def _get(assoc: Association, uid: str) -> Dataset:
    status, ds = assoc.send_n_get([], MEDIA_CREATION_MANAGEMENT, uid)
    assert status.Status == 0x0000 and ds is not None
    return ds


def _until(assoc: Association, uid: str, statuses: set[str], seen: list[str] | None = None) -> Dataset:
    """Poll N-GET until the Execution Status is one of ``statuses`` (each status seen noted)."""
    while True:
        ds = _get(assoc, uid)
        if seen is not None and (not seen or seen[-1] != ds.ExecutionStatus):
            seen.append(str(ds.ExecutionStatus))
        if ds.ExecutionStatus in statuses:
            return ds
        time.sleep(0.05)


def test_a_disc_ordered_over_dicom_holds_what_we_have_and_what_orthanc_had(rig: Rig) -> None:
    rig.service.start_worker()
    assoc = _associate(rig.settings)
    try:
        status, uid = _create(assoc, _request(rig.held + rig.remote, copies=2))
        assert status == 0x0000
        assert _get(assoc, uid).ExecutionStatus == "IDLE"
        assert _action(assoc, uid, 1) == 0x0000
        seen: list[str] = []
        ds = _until(assoc, uid, {"DONE", "FAILURE"}, seen)
        assert ds.ExecutionStatus == "DONE", (ds.ExecutionStatusInfo, seen)
        assert seen[0] in ("PENDING", "CREATING") and seen[-1] == "DONE"
        assert ds.TotalNumberOfPiecesOfMediaCreated == 2
        assert len(ds.FailedSOPSequence) == 0
        assert len(ds.ReferencedStorageMediaSequence) == 1
        assert ds.LabelText == "Ordered by PACS"
        status, only = assoc.send_n_get([0x21000020, 0x2200000B], MEDIA_CREATION_MANAGEMENT, uid)  # PS3.4 S.3.4.1.1
        assert status.Status == 0x0000 and [e.keyword for e in only] == ["ExecutionStatus", "TotalNumberOfPiecesOfMediaCreated"]
        # the instances only Orthanc had were fetched first
        wanted = [str(i.ReferencedSOPInstanceUID) for i in rig.held + rig.remote]
        assert lookup.present_instances(rig.service.db, wanted) == set(wanted)
        assert _action(assoc, uid, 1) == 0xA510  # initiate twice
        assert _action(assoc, uid, 2) == 0xC201  # cancel after completion
    finally:
        assoc.release()


def test_an_unknown_instance_is_reported_in_the_failed_sop_sequence(rig: Rig) -> None:
    rig.service.start_worker()
    unknown = Dataset()
    unknown.ReferencedSOPClassUID, unknown.ReferencedSOPInstanceUID = rig.held[0].ReferencedSOPClassUID, generate_uid()
    assoc = _associate(rig.settings)
    try:
        status, uid = _create(assoc, _request([*rig.held, unknown]))
        assert status == 0x0000  # S.3.2.1.3 note 1: availability is checked after the N-ACTION
        assert _action(assoc, uid, 1) == 0x0000
        ds = _until(assoc, uid, {"DONE", "FAILURE"})
        assert ds.ExecutionStatus == "DONE" and ds.TotalNumberOfPiecesOfMediaCreated == 1
        assert [(str(i.ReferencedSOPInstanceUID), int(i.FailureReason)) for i in ds.FailedSOPSequence] == [
            (str(unknown.ReferencedSOPInstanceUID), 0x0112)]
        status, only_unknown = _create(assoc, _request([unknown]))
        assert _action(assoc, only_unknown, 1) == 0x0000
        ds = _until(assoc, only_unknown, {"DONE", "FAILURE"})
        assert ds.ExecutionStatus == "FAILURE" and ds.TotalNumberOfPiecesOfMediaCreated == 0
        assert len(ds.FailedSOPSequence) == 1
    finally:
        assoc.release()


def test_a_cancel_stops_the_order(rig: Rig) -> None:
    assoc = _associate(rig.settings)  # no worker yet: the job waits in the queue
    try:
        label = "Müller 胸部 для врача"  # kept as sent, in the caller's character set
        _, uid = _create(assoc, _request(rig.held, SpecificCharacterSet="ISO_IR 192", LabelText=label))
        assert _get(assoc, uid).LabelText == label
        assert _action(assoc, uid, 1) == 0x0000
        while _get(assoc, uid).ExecutionStatusInfo == "RETRIEVING":
            time.sleep(0.05)
        assert _get(assoc, uid).ExecutionStatus == "PENDING"
        assert _action(assoc, uid, 2) == 0x0000
        rig.service.start_worker()
        ds = _get(assoc, uid)
        assert (ds.ExecutionStatus, ds.ExecutionStatusInfo) == ("FAILURE", "CANCELLED")
        assert _action(assoc, uid, 2) == 0xC203  # nothing left to cancel
        assert ds.TotalNumberOfPiecesOfMediaCreated == 0
    finally:
        assoc.release()


def test_a_cancel_stops_a_burning_order(sqlite_url: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, sqlite_url, free_port(), (), time_scale=0.05)  # a disc: seconds
    files = samples.write_study(HELD, tmp_path / "src")
    with running_service(settings) as service:
        for f in files:
            service.archive.store_file(f)
        service.start_worker()
        assoc = _associate(settings)
        try:
            _, uid = _create(assoc, _request(_refs(files), copies=5))
            assert _action(assoc, uid, 1) == 0x0000
            while media_requests.get(service.db, uid).job_state is not JobState.BURNING:
                time.sleep(0.05)
            assert _get(assoc, uid).ExecutionStatus == "CREATING"
            assert _action(assoc, uid, 2) == 0x0000  # the robot was asked to stop
            ds = _until(assoc, uid, {"DONE", "FAILURE"})
            assert (ds.ExecutionStatus, ds.ExecutionStatusInfo) == ("FAILURE", "CANCELLED")
            assert ds.TotalNumberOfPiecesOfMediaCreated < 5
        finally:
            assoc.release()


def test_a_cancel_while_mastering_is_refused(rig: Rig) -> None:
    assoc = _associate(rig.settings)  # no worker: the test plays the worker that began mastering
    try:
        _, uid = _create(assoc, _request(rig.held))
        assert _action(assoc, uid, 1) == 0x0000
        while (job_id := media_requests.get(rig.service.db, uid).job_id) is None:
            time.sleep(0.05)
        with rig.service.db.session() as s:
            job = s.get(DiscJob, job_id)
            assert job is not None
            job.state = JobState.MASTERING.value
        assert _get(assoc, uid).ExecutionStatus == "CREATING"
        assert _action(assoc, uid, 2) == 0xC202  # in progress and cannot be interrupted
    finally:
        assoc.release()


def test_bad_requests_get_the_annex_s_failure_status(rig: Rig) -> None:
    assoc = _associate(rig.settings)
    try:
        no_refs = _request(rig.held)
        del no_refs.ReferencedSOPSequence
        assert _create(assoc, no_refs)[0] == 0x0120  # missing attribute
        assert _create(assoc, _request([]))[0] == 0x0121  # missing attribute value
        assert _create(assoc, _request(rig.held, copies=0))[0] == 0x0106  # invalid attribute value
        assert _create(assoc, _request(rig.held, RequestPriority="URGENT"))[0] == 0x0106
        assert _create(assoc, _request(rig.held, AllowMediaSplitting="MAYBE"))[0] == 0x0106
        assert _action(assoc, generate_uid(), 1) == 0x0112  # no such SOP instance
        status, uid = _create(assoc, _request(rig.held))
        assert _action(assoc, uid, 7) == 0x0123  # no such action
        status, rsp = assoc.send_n_get([], MEDIA_CREATION_MANAGEMENT, generate_uid())
        assert status.Status == 0x0112
        status, rsp = assoc.send_n_get([0x21000020, 0x00100010], MEDIA_CREATION_MANAGEMENT, uid)  # Patient's Name
        assert status.Status == 0x0001 and rsp is not None and rsp.ExecutionStatus == "IDLE" and "PatientName" not in rsp
    finally:
        assoc.release()


def test_callers_need_the_media_service(rig: Rig) -> None:
    ae = AE(ae_title="MODALITY")  # allowed the default services: media is not one
    ae.add_requested_context(MEDIA_CREATION_MANAGEMENT)
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", rig.settings.dicom.port, ae_title=rig.settings.dicom.ae_title)
    try:
        assert assoc.is_established
        assert [str(cx.abstract_syntax) for cx in assoc.accepted_contexts] == [VERIFICATION]
    finally:
        assoc.release()


def test_every_medium_can_be_ordered() -> None:
    assert set(MEDIA_CREATION_MEDIA) == {m.value for m in MediaType}
    assert load_settings(environ={"PUBLISHER_DICOM_MEDIA_CREATION_MEDIUM": "DVD"}).dicom.media_creation_medium == "dvd"
    with pytest.raises(ConfigError, match="media_creation_medium"):
        load_settings(environ={"PUBLISHER_DICOM_MEDIA_CREATION_MEDIUM": "floppy"})


def test_a_request_survives_a_restart(db_url: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, db_url, free_port(), ())
    files = samples.write_study(HELD, tmp_path / "src")
    with running_service(settings) as service:
        for f in files:
            service.archive.store_file(f)
        assoc = _associate(settings)
        _, uid = _create(assoc, _request(_refs(files)))
        assoc.release()
    # one initiated when the service stopped, before its job was made: taken up at start
    interrupted = generate_uid()
    book = media_requests.MediaOrderBook(Database(settings.db_url), "cd")
    assert book.create(interrupted, "PYNETDICOM", [(str(r.ReferencedSOPClassUID), str(r.ReferencedSOPInstanceUID))
                                                   for r in _refs(files)], {"NumberOfCopies": 1})
    assert book.initiate(interrupted) == "ok"
    book.db.dispose()
    with running_service(settings) as service:
        service.start_worker()
        assoc = _associate(settings)
        try:
            assert _until(assoc, interrupted, {"DONE", "FAILURE"}).ExecutionStatus == "DONE"
            assert _get(assoc, uid).ExecutionStatus == "IDLE"
            assert _action(assoc, uid, 1) == 0x0000
            assert _until(assoc, uid, {"DONE", "FAILURE"}).ExecutionStatus == "DONE"
            job = media_requests.get(service.db, uid).job_id
            with service.db.session() as s:  # the disc job names who ordered it
                row = s.get(DiscJob, job)
                assert row is not None and row.created_by == "dicom:PYNETDICOM"
        finally:
            assoc.release()
