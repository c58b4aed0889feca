"""Acceptance 5 (issue 15): a re-burn of a study retention purged retrieves it first from the PACS
of ``[retention] retrieve_from`` (a real DCMTK dcmqrscp by C-MOVE into the running service's
Storage SCP, or Orthanc by C-GET), and the disc holds every instance; without a peer that has
it, the job fails naming what is missing instead of burning a short disc."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import select

import robot_drivers
from publisher.config import AllowedCaller, RemoteAE
from publisher.config.retention import RetentionSettings
from publisher.db.models import DiscJob, Instance, PurgedInstance
from publisher.demo import samples
from publisher.jobs.disc_job import create_job, run_job
from publisher.jobs.records import Selection, load_volumes
from publisher.jobs.state import JobState
from publisher.retention.policy import discs_holding
from publisher.retention.purge import Retention
from publisher.routing.router import Router
from tests.support.jobs import CT_A
from tests.support.net import free_port
from tests.support.peers import dcmqrscp, orthanc, orthanc_upload, storescu
from tests.support.qr_studies import QR_CALLERS
from tests.support.service import running_service, settings_for
from tests.support.tools import require_tool, run

pytestmark = [pytest.mark.interop]


def _disc_uids(image: Path, dest: Path) -> set[str]:
    """SOP Instance UIDs of the DICOM files on the image (extracted by xorriso), DICOMDIR aside."""
    require_tool("xorriso")
    run("xorriso", "-osirrox", "on", "-indev", image, "-extract", "/", dest)
    out = set()
    for f in dest.rglob("*"):
        if f.is_file() and f.name != "DICOMDIR":
            try:
                out.add(str(dcmread(f, stop_before_pixels=True).SOPInstanceUID))
            except Exception:  # noqa: BLE001 - the viewer, README and label files
                continue
    return out


@contextmanager
def _pacs(kind: str, tmp: Path, our_port: int, files: list[Path]) -> Iterator[RemoteAE]:
    """The PACS holding the study too: dcmqrscp retrieved by C-MOVE, or Orthanc by C-GET."""
    if kind == "dcmqrscp":
        require_tool("dcmqrscp", "storescu", "echoscu")
        with dcmqrscp(tmp / "dcmqr", "DISCPUB", our_port) as port:
            storescu(port, "DCMQR", files)
            yield RemoteAE("DCMQR", "127.0.0.1", port, retrieve="move")
    else:
        require_tool("Orthanc", "echoscu")
        with orthanc(tmp / "orthanc", "DISCPUB", our_port) as (port, http):
            orthanc_upload(http, files)
            yield RemoteAE("ORTHANC", "127.0.0.1", port, retrieve="get")


@pytest.mark.parametrize("kind", ["dcmqrscp", "orthanc"])
def test_reburn_of_a_purged_study_fetches_it_back_first(db_url: str, tmp_path: Path, kind: str) -> None:
    files = samples.write_study(CT_A, tmp_path / "src")
    uids = {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}
    our_port = free_port()
    with _pacs(kind, tmp_path, our_port, files) as remote:
        settings = settings_for(tmp_path / "svc", db_url, port=our_port, remotes=(remote,),
                                allowed_callers=(*QR_CALLERS, AllowedCaller(remote.ae_title)))
        retention = RetentionSettings(mode="buffer", grace_hours=0, retrieve_from=(remote.ae_title,))
        settings = replace(settings, retention=retention)
        with running_service(settings) as service:
            for f in files:
                service.archive.store_file(f)
            robot = robot_drivers.create("simulator", time_scale=0.0, lock_dir=tmp_path / "locks")
            ctx = replace(service.job_context(), robot=robot, viewer=False)
            first = create_job(service.db, Selection(studies=(CT_A.uid,)), media="cd")
            assert run_job(ctx, first) is JobState.DONE
            while Router(service.db, service.archive.root, ()).tick():
                pass
            report = Retention(service.db, service.archive.root, settings.retention).run()
            assert set(report.purged["buffer"]) == uids
            with service.db.session() as s:
                assert not s.scalars(select(Instance.sop_instance_uid)).all()
                assert set(s.scalars(select(PurgedInstance.sop_instance_uid))) == uids
                assert discs_holding(s, CT_A.uid) == [first]  # the index still knows the disc holding it

            again = create_job(service.db, Selection(studies=(CT_A.uid,)), media="cd")  # every instance purged
            assert run_job(ctx, again) is JobState.DONE
            with service.db.session() as s:
                job = s.get(DiscJob, again)
                assert job is not None
                volumes = load_volumes(job.volumes)
                assert set(s.scalars(select(Instance.sop_instance_uid))) == uids  # back in the index
                assert not s.scalars(select(PurgedInstance.sop_instance_uid)).all()
                calling = set(s.scalars(select(Instance.calling_ae)))
            assert calling == {remote.ae_title}  # fetched from the PACS (C-MOVE into our Storage SCP, or C-GET)
            assert _disc_uids(Path(volumes[0].image), tmp_path / "disc") == uids

            # purged again, and the PACS no longer named: the job fails naming what is missing
            Retention(service.db, service.archive.root, settings.retention).run()
            ctx = replace(ctx, fetch_purged=None)
            third = create_job(service.db, Selection(studies=(CT_A.uid,)), media="cd")
            assert run_job(ctx, third) is JobState.FAILED
            with service.db.session() as s:
                job = s.get(DiscJob, third)
                assert job is not None
                error = job.error
            assert error.startswith(f"retrieval: {len(uids)} of {len(uids)} purged instance(s) not fetched back") and CT_A.uid in error
