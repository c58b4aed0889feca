"""DICOMweb (PS3.18) against a real ``publisher serve``, with dicomweb-client, compared with
Orthanc's DICOMweb plugin holding the same studies: QIDO-RS answers, WADO-RS bytes and frames."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from PIL import Image
from pydicom import dcmread

from publisher.archive.file_meta import dataset_bytes
from publisher.web.dicomweb.multipart import params, read_parts
from tests.support.dicomweb import Rig, dicomweb_rig, sha256, values

pytestmark = [pytest.mark.interop]

STUDY_UID, SERIES_UID, SOP_UID = "0020000D", "0020000E", "00080018"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with dicomweb_rig(tmp_path_factory.mktemp("dicomweb")) as r:
        yield r


def _same(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], uid_tag: str) -> int:
    """Both found the same entities, and every attribute both return has the same value;
    returns how many values were compared."""
    mine, other = values(ours, uid_tag), values(theirs, uid_tag)
    assert set(mine) == set(other), (set(mine) ^ set(other))
    compared = 0
    for uid, attrs in mine.items():
        for tag, attr in attrs.items():
            theirs_attr = other[uid].get(tag)
            if tag in ("00081190", "00080056") or theirs_attr is None or "Value" not in attr or "Value" not in theirs_attr:
                continue  # RetrieveURL and availability name each server
            assert attr["Value"] == theirs_attr["Value"], (uid, tag, attr, theirs_attr)
            compared += 1
    return compared


def _orthanc(rig: Rig, path: str, filters: dict[str, str], fields: list[str] = []) -> list[dict[str, Any]]:
    """Orthanc's answer to a query whose ``*`` is sent as it is: Orthanc 1.x does not decode ``%2A``
    (dicomweb-client's encoding of it) in a query value, so a wildcard would never match there."""
    query = urlencode([*filters.items(), *(("includefield", f) for f in fields)], safe="*^,")
    r = httpx.get(f"{rig.theirs.base_url}{path}?{query}")
    assert r.status_code in (200, 204), r.text
    return list(r.json()) if r.status_code == 200 else []


def _studies(rig: Rig, **filters: str) -> int:
    fields = ["StudyDescription", "InstitutionName", "PatientBirthDate", "PatientSex"]
    ours = rig.ours.search_for_studies(search_filters=filters, fields=fields)
    theirs = _orthanc(rig, "/studies", filters, fields)
    assert ours, filters
    return _same(ours, theirs, STUDY_UID)


def test_qido_studies_answer_as_orthanc_does(rig: Rig) -> None:
    compared = _studies(rig)
    assert compared > 5 * 10
    for filters in ({"PatientID": "PAT-SMITH"}, {"StudyDate": "20250101-20261231"}, {"StudyDate": "-20250610"},
                    {"AccessionNumber": "ACC100*"}, {"PatientName": "smith*"}, {"ModalitiesInStudy": "MR"},
                    {"00100020": "PAT-SMITH"}, {"StudyTime": "080000-160000"}):
        assert _studies(rig, **filters), filters
    assert rig.ours.search_for_studies(search_filters={"PatientID": "NOBODY"}) == []


def test_qido_series_and_instances_answer_as_orthanc_does(rig: Rig) -> None:
    studies = values(rig.ours.search_for_studies(), STUDY_UID)
    for study in studies:
        ours, theirs = rig.ours.search_for_series(study), rig.theirs.search_for_series(study)
        assert _same(ours, theirs, SERIES_UID)
        for series in values(ours, SERIES_UID):
            mine = rig.ours.search_for_instances(study, series)
            assert _same(mine, rig.theirs.search_for_instances(study, series), SOP_UID)
    for modality in ("CT", "MR"):
        f = {"Modality": modality}
        assert _same(rig.ours.search_for_series(search_filters=f), rig.theirs.search_for_series(search_filters=f), SERIES_UID)
    one = next(iter(values(rig.theirs.search_for_instances(), SOP_UID)))
    f = {"SOPInstanceUID": one}
    assert _same(rig.ours.search_for_instances(search_filters=f), rig.theirs.search_for_instances(search_filters=f), SOP_UID)


def test_qido_limit_offset_and_bad_keys(rig: Rig) -> None:
    every = [a[STUDY_UID]["Value"][0] for a in rig.ours.search_for_studies()]
    pages = [a[STUDY_UID]["Value"][0] for off in range(0, len(every), 2)
             for a in rig.ours.search_for_studies(limit=2, offset=off)]
    assert pages == every and len(every) == 5
    headers = {"Authorization": f"Bearer {rig.tokens['rad']}"}
    r = httpx.get(f"{rig.served.base}/dicomweb/studies", params={"NoSuchKeyword": "x"}, headers=headers)
    assert r.status_code == 400 and "not a query key" in r.json()["detail"]
    r = httpx.get(f"{rig.served.base}/dicomweb/studies", params={"PatientID": "PAT-SMITH", "includefield": "all"}, headers=headers)
    assert r.headers["content-type"] == "application/dicom+json" and len(r.json()) == 1
    assert "00080080" in r.json()[0]  # InstitutionName, named by includefield=all


def _wado(rig: Rig, url: str) -> list[bytes]:
    r = httpx.get(url, headers={"Authorization": f"Bearer {rig.tokens['rad']}",
                                "Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
    assert r.status_code == 200, r.text
    kind, p = params(r.headers["content-type"])
    assert kind == "multipart/related" and p["type"] == "application/dicom"
    return [part.body for part in read_parts(r.content, p["boundary"])]


def test_wado_returns_the_stored_bytes(rig: Rig) -> None:
    sent = {str(dcmread(f, stop_before_pixels=True).SOPInstanceUID): f for f in rig.files}
    for study in values(rig.ours.search_for_studies(), STUDY_UID):
        got = _wado(rig, f"{rig.served.base}/dicomweb/studies/{study}")
        for body in got:
            uid = str(dcmread(io.BytesIO(body), stop_before_pixels=True).SOPInstanceUID)
            stored = next(p for p in (rig.served.data).rglob("*") if p.is_file() and p.name != "publisher.db"
                          and p.suffix not in (".db", ".log") and p.stat().st_size == len(body) and p.read_bytes() == body)
            assert sha256(stored.read_bytes()) == sha256(body)  # the archive's file, byte for byte
            with open(sent[uid], "rb") as f:
                assert sha256(dataset_bytes(io.BytesIO(body))[0]) == sha256(dataset_bytes(f)[0])  # the data set as sent
    ds = rig.ours.retrieve_instance(*_first_image(rig))
    assert ds.PixelData == dcmread(sent[str(ds.SOPInstanceUID)]).PixelData


def _first_image(rig: Rig) -> tuple[str, str, str]:
    for a in rig.ours.search_for_instances(search_filters={"SOPClassUID": "1.2.840.10008.5.1.4.1.1.2"}):
        return a[STUDY_UID]["Value"][0], a[SERIES_UID]["Value"][0], a[SOP_UID]["Value"][0]
    raise AssertionError("no CT image")


def test_wado_metadata_frames_and_rendered(rig: Rig) -> None:
    study, series, sop = _first_image(rig)
    ours = rig.ours.retrieve_instance_metadata(study, series, sop)
    theirs = rig.theirs.retrieve_instance_metadata(study, series, sop)
    assert "7FE00010" not in ours or "Value" not in ours["7FE00010"]  # bulk data left out
    for tag in ("00100010", "00100020", "0020000D", "00080018", "00280010", "00280011"):
        assert ours[tag]["Value"] == theirs[tag]["Value"], tag
    ds = rig.ours.retrieve_instance(study, series, sop)
    (frame,) = rig.ours.retrieve_instance_frames(study, series, sop, [1], media_types=("application/octet-stream",))
    assert frame == ds.PixelData
    png = rig.ours.retrieve_instance_frames_rendered(study, series, sop, [1], media_types=("image/png",))
    image = Image.open(io.BytesIO(png))
    assert image.size == (ds.Columns, ds.Rows)
    r = httpx.get(f"{rig.served.base}/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/9",
                  headers={"Authorization": f"Bearer {rig.tokens['rad']}"})
    assert r.status_code == 404


def test_anonymous_and_wrong_tokens_are_refused(rig: Rig, tmp_path: Path) -> None:
    study, series, sop = _first_image(rig)
    base = f"{rig.served.base}/dicomweb"
    urls = [f"{base}/studies", f"{base}/series", f"{base}/instances", f"{base}/studies/{study}",
            f"{base}/studies/{study}/series", f"{base}/studies/{study}/metadata",
            f"{base}/studies/{study}/series/{series}/instances/{sop}/frames/1"]
    for headers in ({}, {"Authorization": "Bearer dpt_not-a-token"}, {"Authorization": "Basic cmFkOnJhZA=="}):
        for url in urls:
            r = httpx.get(url, headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), (url, headers)
        r = httpx.post(f"{base}/studies", headers=headers | {"Content-Type": 'multipart/related; type="application/dicom"; boundary=x'},
                       content=b"--x--\r\n")
        assert r.status_code == 401
    desk = {"Authorization": f"Bearer {rig.tokens['desk']}"}  # the front desk does not browse the index
    assert httpx.get(f"{base}/studies", headers=desk).status_code == 403
    # A logged-in browser session works as well.
    with httpx.Client(base_url=rig.served.base) as browser:
        page = browser.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = browser.post("/login", data={"username": "rad", "password": "rad-password-1", "csrf": csrf, "next": "/"})
        assert r.status_code == 303
        assert browser.get(f"/dicomweb/studies/{study}/series").status_code == 200
