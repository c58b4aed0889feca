"""Acceptance 3 and 4: our QR SCU against Orthanc and DCMTK dcmqrscp.

Find and retrieve a study by C-MOVE (to our Storage SCP) and by C-GET from each peer; a study
partly here already is fetched only for the missing instances; sub-operations the remote fails
are reported exactly, with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import select

from publisher.demo import samples
from publisher.archive.query.keys import Level
from publisher.config import RemoteAE, Settings
from publisher.db.models import Instance
from publisher.dicom.qr_models import Model
from publisher.dicom.qr_scu import RetrieveSelection, find, present_in_index, retrieve
from publisher.service import Service
from tests.support.net import free_port
from tests.support.tools import require_tool
from tests.support.service import running_service, settings_for
from tests.support.qr_studies import QR_CALLERS
from tests.support.qr_studies import STUDIES
from tests.support.peers import dcmqrscp, orthanc, orthanc_upload, storescu

CT_HEAD, MR_SPINE, MR_KNEE = STUDIES[0], STUDIES[1], STUDIES[2]
#: A storage SOP class our SCP does not accept (X-Ray 3D Angiographic Image Storage).
UNACCEPTED_CLASS = "1.2.840.10008.5.1.4.1.1.13.1.1"


@dataclass
class Peer:
    service: Service
    settings: Settings
    remote: RemoteAE
    files: dict[str, list[Path]]


def _files(tmp: Path) -> dict[str, list[Path]]:
    return {s.key: samples.write_study(s, tmp / "peer-src" / s.key) for s in (CT_HEAD, MR_SPINE, MR_KNEE)}


@pytest.fixture(params=["orthanc", "dcmqrscp"])
def peer(request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path) -> Iterator[Peer]:
    require_tool("storescu", "echoscu", "dcmqrscp" if request.param == "dcmqrscp" else "Orthanc")
    our_port = free_port()
    files = _files(tmp_path)
    if request.param == "orthanc":
        with orthanc(tmp_path / "orthanc", "DISCPUB", our_port) as (port, http):
            orthanc_upload(http, [f for fs in files.values() for f in fs])
            yield from _with_service(tmp_path, sqlite_url, our_port, RemoteAE("ORTHANC", "127.0.0.1", port), files)
    else:
        with dcmqrscp(tmp_path / "dcmqr", "DISCPUB", our_port) as port:
            storescu(port, "DCMQR", [f for fs in files.values() for f in fs])
            yield from _with_service(tmp_path, sqlite_url, our_port, RemoteAE("DCMQR", "127.0.0.1", port), files)


def _with_service(tmp: Path, url: str, our_port: int, remote: RemoteAE, files: dict[str, list[Path]]) -> Iterator[Peer]:
    settings = settings_for(tmp / "svc", url, port=our_port, allowed_callers=QR_CALLERS, remotes=(remote,))
    with running_service(settings) as service:
        yield Peer(service, settings, remote, files)


def test_find_and_retrieve_by_move_and_by_get(peer: Peer) -> None:
    d = peer.settings.dicom
    found = list(find(d, peer.remote, Level.STUDY, {"PatientName": "Müller*", "StudyDate": "20250101-"},
                      ("StudyInstanceUID", "StudyDescription", "PatientID"), Model.STUDY_ROOT))
    assert sorted(str(ds.StudyInstanceUID) for ds in found) == sorted([CT_HEAD.uid, MR_SPINE.uid])
    assert {str(ds.PatientName) for ds in found} == {"Müller^Jürgen"}
    patients = list(find(d, peer.remote, Level.PATIENT, {"PatientID": "PAT-*"}, ("PatientName",), Model.PATIENT_ROOT))
    assert sorted(str(ds.PatientID) for ds in patients) == ["PAT-CYR", "PAT-LAT1"]

    steps: list[tuple[int, int]] = []
    moved = retrieve(d, peer.remote, RetrieveSelection(studies=[CT_HEAD.uid]), peer.service.archive, method="move",
                     progress=lambda done, total: steps.append((done, total)))
    assert moved.ok, moved.failed
    assert (moved.found, len(moved.retrieved), moved.already_present) == (4, 4, [])
    assert steps[-1] == (4, 4)
    got = retrieve(d, peer.remote, RetrieveSelection(studies=[MR_KNEE.uid]), peer.service.archive, method="get")
    assert got.ok, got.failed
    assert (got.found, len(got.retrieved)) == (3, 3)
    expected = [str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for key in ("ct-head", "mr-knee") for f in peer.files[key]]
    assert present_in_index(peer.service.archive.db, expected) == set(expected)
    # Everything is here now: nothing is fetched again.
    again = retrieve(d, peer.remote, RetrieveSelection(studies=[CT_HEAD.uid, MR_KNEE.uid]), peer.service.archive)
    assert (again.found, len(again.already_present), again.retrieved, again.requests) == (7, 7, [], 0)


@pytest.mark.parametrize("method", ["move", "get"])
def test_only_missing_instances_are_fetched(peer: Peer, method: str) -> None:
    files = peer.files["ct-head"]  # 3 CT + 1 SR
    for f in files[:2]:
        peer.service.archive.store_file(f)
    here = [str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files[:2]]
    missing = sorted(str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files[2:])
    report = retrieve(peer.settings.dicom, peer.remote, RetrieveSelection(studies=[CT_HEAD.uid]), peer.service.archive, method=method)  # type: ignore[arg-type]
    assert report.ok, report.failed
    assert sorted(report.already_present) == sorted(here)
    assert sorted(report.retrieved) == missing
    assert report.requests == 2  # the CT series' missing instance by UID, the SR series whole
    # the retrieve named only the missing instances: a whole series or a UID list, never the study
    with peer.service.db.session() as s:
        calling = dict(s.execute(select(Instance.sop_instance_uid, Instance.calling_ae)).all())
    assert {calling[u] for u in missing} == {peer.remote.ae_title} and {calling[u] for u in here} == {"IMPORT"}


def test_failed_sub_operations_are_reported_exactly(sqlite_url: str, tmp_path: Path) -> None:
    """dcmqrscp holds two instances of a SOP class our Storage SCP does not accept: their C-STORE
    sub-operations fail, and the report names exactly those two with the remote's verdict."""
    require_tool("dcmqrscp", "storescu")
    our_port = free_port()
    spec = samples.StudySpec(samples.ASCII_PATIENT, "xa3d", series=(samples.SeriesSpec("ct", 4, 1, "", 16, 16),))
    paths = samples.write_study(spec, tmp_path / "src")
    odd = []
    for p in paths[:2]:
        ds = dcmread(p)
        ds.SOPClassUID = UNACCEPTED_CLASS
        ds.file_meta.MediaStorageSOPClassUID = UNACCEPTED_CLASS
        ds.save_as(p, enforce_file_format=True)
        odd.append(str(ds.SOPInstanceUID))
    with dcmqrscp(tmp_path / "dcmqr", "DISCPUB", our_port) as port:
        storescu(port, "DCMQR", paths)
        remote = RemoteAE("DCMQR", "127.0.0.1", port)
        settings = settings_for(tmp_path / "svc", sqlite_url, port=our_port, allowed_callers=QR_CALLERS, remotes=(remote,))
        with running_service(settings) as service:
            report = retrieve(settings.dicom, remote, RetrieveSelection(studies=[spec.uid]), service.archive, method="move")
    assert report.found == 4 and len(report.retrieved) == 2
    assert sorted(report.failed) == sorted(odd)
    assert all("sub-operation failed" in why for why in report.failed.values()), report.failed
