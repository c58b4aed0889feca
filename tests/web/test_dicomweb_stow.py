"""STOW-RS (PS3.18 10.5) into a real ``publisher serve`` with dicomweb-client: stored durably (a
separate C-FIND SCU then finds every instance, WADO-RS returns its data set as sent), failures
listed with their reasons (10.5.3), refusals."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread

from publisher.archive.file_meta import dataset_bytes
from publisher.demo import samples
from publisher.demo.samples import SeriesSpec, StudySpec
from tests.support.dicomweb import USERS, sha256
from tests.support.qr_studies import SMITH, findscu
from tests.support.served import publisher_serve

pytestmark = [pytest.mark.interop]

NEW = StudySpec(SMITH, "stow", "STOW study", "20261201", "101500", "ACC-STOW", "77",
                series=(SeriesSpec("ct", 3, 1, "Axial", 16, 16),))
CONFIG = '[dicom]\nallowed_callers = [{ ae_title = "FINDSCU", services = ["find"] }]\n'
REFERENCED, FAILED, REASON = 0x00081199, 0x00081198, 0x00081197


def test_stow_stores_durably_and_reports_failures(tmp_path: Path) -> None:
    files = samples.write_study(NEW, tmp_path / "src")
    study_uid = str(dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
    (tmp_path / "pub").mkdir()
    with publisher_serve(tmp_path / "pub", users=USERS, config=CONFIG) as served:
        tokens = {n: served.cli("user", "token", n).stdout.strip() for n in USERS}
        client = DICOMwebClient(f"{served.base}/dicomweb", headers={"Authorization": f"Bearer {tokens['rad']}"})
        answer = client.store_instances([dcmread(f) for f in files])
        items = answer[REFERENCED].value
        assert len(items) == 3 and FAILED not in answer
        assert all(urlparse(str(i.RetrieveURL)).path.startswith(f"/dicomweb/studies/{study_uid}/series/") for i in items)
        # A C-FIND SCU of its own (DCMTK) finds every instance in the index.
        found = findscu(int(served.env["PUBLISHER_DICOM_PORT"]), "S",
                        ["QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={study_uid}", "SeriesInstanceUID", "SOPInstanceUID"],
                        tmp_path / "find")
        assert found.returncode == 0, found.stderr
        sent = {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID): f for f in files}
        assert {str(r.SOPInstanceUID) for r in found.responses} == set(sent)
        # WADO-RS gives back each data set as it was sent.
        for ds in client.retrieve_study(study_uid):
            with open(sent[str(ds.SOPInstanceUID)], "rb") as f:
                want = dataset_bytes(f)[0]
            buf = io.BytesIO()
            ds.save_as(buf, enforce_file_format=True)
            assert sha256(dataset_bytes(io.BytesIO(buf.getvalue()))[0]) == sha256(want)

        # A part that is not DICOM beside a good one: 202, the failure with its reason (Cxxx).
        extra = samples.write_study(StudySpec(SMITH, "stow2", "second", "20261202", "090000", "ACC-S2", "78",
                                              series=(SeriesSpec("ct", 1, 1, "One", 16, 16),)), tmp_path / "src2")
        mark = "xyz-boundary"
        body = (f"--{mark}\r\nContent-Type: application/dicom\r\n\r\n".encode() + b"not dicom at all" +
                f"\r\n--{mark}\r\nContent-Type: application/dicom\r\n\r\n".encode() + extra[0].read_bytes() +
                f"\r\n--{mark}--\r\n".encode())
        headers = {"Authorization": f"Bearer {tokens['rad']}", "Accept": "application/dicom+json",
                   "Content-Type": f'multipart/related; type="application/dicom"; boundary={mark}'}
        r = httpx.post(f"{served.base}/dicomweb/studies", content=body, headers=headers)
        assert r.status_code == 202, r.text
        (reason,) = r.json()[f"{FAILED:08X}"]["Value"][0][f"{REASON:08X}"]["Value"]
        assert reason & 0xF000 == 0xC000  # Cxxx: cannot understand (PS3.4 Table B.2-1; here C001, no UIDs)
        assert len(r.json()[f"{REFERENCED:08X}"]["Value"]) == 1
        # Instances of another study than the URL names: none stored, 409, reason C409.
        r = httpx.post(f"{served.base}/dicomweb/studies/1.2.3.4", content=body.replace(b"not dicom at all", extra[0].read_bytes()),
                       headers=headers)
        assert r.status_code == 409 and FAILED and all(
            i[f"{REASON:08X}"]["Value"] == [0xC409] for i in r.json()[f"{FAILED:08X}"]["Value"])
        r = httpx.post(f"{served.base}/dicomweb/studies", content=b"{}", headers=headers | {"Content-Type": "application/json"})
        assert r.status_code == 415
        # The front desk may not store; nobody anonymous may.
        desk = headers | {"Authorization": f"Bearer {tokens['desk']}"}
        assert httpx.post(f"{served.base}/dicomweb/studies", content=body, headers=desk).status_code == 403
        anonymous = {k: v for k, v in headers.items() if k != "Authorization"}
        assert httpx.post(f"{served.base}/dicomweb/studies", content=body, headers=anonymous).status_code == 401
        # A revoked token stops working.
        listed = served.cli("user", "tokens").stdout.split()
        assert served.cli("user", "revoke-token", listed[0]).returncode == 0
        assert httpx.get(f"{served.base}/dicomweb/studies", headers={"Authorization": f"Bearer {tokens['rad']}"}).status_code == 401
