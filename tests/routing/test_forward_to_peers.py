"""Routes against real destinations: CT from one modality to DCMTK storescp (which accepts only
native syntaxes: it gets the RLE-compressed CT decompressed, pixels equal), MR from another to
Orthanc with private tags removed, a missing attribute given its default and the name
upper-cased, every coerced value in Original Attributes Sequence; nothing else goes anywhere."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest
from pydicom.uid import RLELossless

from publisher.config import AllowedCaller, RemoteAE
from publisher.config.routing import Destination, ForwardSettings, Route
from publisher.demo import samples
from publisher.routing import queue
from tests.support.net import free_port, wait_until
from tests.support.peers import orthanc, storescp
from tests.support.service import running_service, settings_for, storescu

pytestmark = [pytest.mark.interop]


def _study(tmp: Path, kind: str, key: str, count: int, patient: samples.PatientSpec) -> list[Path]:
    spec = samples.StudySpec(patient, key, series=(samples.SeriesSpec(kind, count, 1, key, 32, 32),))
    return samples.write_study(spec, tmp / key)


def _rle(paths: list[Path]) -> None:
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.compress(RLELossless, generate_instance_uid=False)
        ds.save_as(p, enforce_file_format=True)


def _with_private(paths: list[Path]) -> None:
    for p in paths:
        ds = pydicom.dcmread(p)
        ds.private_block(0x0029, "ACME MR", create=True).add_new(0x10, "LO", "private sequence name")
        if "InstitutionName" in ds:
            del ds.InstitutionName
        ds.save_as(p, enforce_file_format=True)


def test_ct_to_storescp_decompressed_and_mr_to_orthanc_without_private_tags(tmp_path: Path, sqlite_url: str) -> None:
    ct = _study(tmp_path / "in", "ct", "ct", 3, samples.LATIN1_PATIENT)
    _rle(ct)
    mr = _study(tmp_path / "in", "mr", "mr", 2, samples.CYRILLIC_PATIENT)
    _with_private(mr)
    other = _study(tmp_path / "in", "cr", "cr", 1, samples.ASCII_PATIENT)  # from CT1 but no route takes CR
    our_port = free_port()
    with storescp(tmp_path / "storescp", "OLDPACS") as old_port, \
            orthanc(tmp_path / "orthanc", "DISCPUB", our_port) as (orthanc_port, http):
        settings = settings_for(tmp_path / "svc", sqlite_url, port=our_port,
                                allowed_callers=(AllowedCaller("CT1"), AllowedCaller("MR1"), AllowedCaller("ECHOSCU")),
                                remotes=(RemoteAE("OLDPACS", "127.0.0.1", old_port), RemoteAE("ORTHANC", "127.0.0.1", orthanc_port)))
        settings = replace(
            settings,
            routes=(Route("ct-to-old-pacs", when=("calling_ae = CT1", "modality = CT"), forward_to=("OLDPACS",)),
                    Route("mr-to-orthanc", when=("calling_ae = MR1", "modality like M?"), forward_to=("ORTHANC",))),
            destinations=(Destination("OLDPACS", transfer_syntax="native"),
                          Destination("ORTHANC", remove_private=True, set_if_missing=("InstitutionName=Klinik Nord",),
                                      patient_name="upper")),
            forward=ForwardSettings(tick_seconds=0.2, backoff_seconds=0.5))
        with running_service(settings) as svc:
            svc.start_forwarder()
            for files, aet, proposal in ((ct, "CT1", "-xr"), (mr, "MR1", "-xe"), (other, "CT1", "-xe")):
                r = storescu(our_port, files, proposal, aet=aet)  # -xr: RLE Lossless (and native)
                assert r.returncode == 0, r.stdout + r.stderr
            wait_until("every forward sent", lambda: queue.counts(svc.db) == {("OLDPACS", "sent"): 3, ("ORTHANC", "sent"): 2},
                       timeout=120, poll=0.2)
            got = sorted((tmp_path / "storescp").iterdir())
            assert len(got) == 3, got
            for path in got:
                ds = pydicom.dcmread(path)
                assert ds.file_meta.TransferSyntaxUID in ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2"), path
                source = next(p for p in ct if pydicom.dcmread(p).SOPInstanceUID == ds.SOPInstanceUID)
                assert np.array_equal(ds.pixel_array, pydicom.dcmread(source).pixel_array), "pixels changed"
                assert "OriginalAttributesSequence" not in ds  # a lossless decode is no coercion
            with httpx.Client(base_url=f"http://127.0.0.1:{http}", timeout=30) as client:
                ids = client.get("/instances").json()
                assert len(ids) == 2, ids
                for oid in ids:
                    ds = pydicom.dcmread(__import__("io").BytesIO(client.get(f"/instances/{oid}/file").content))
                    sent = next(pydicom.dcmread(p) for p in mr if pydicom.dcmread(p).SOPInstanceUID == ds.SOPInstanceUID)
                    assert not [e for e in ds if e.tag.is_private], "private tags reached Orthanc"
                    assert ds.InstitutionName == "Klinik Nord"
                    assert str(ds.PatientName) == str(sent.PatientName).upper()
                    (item,) = ds.OriginalAttributesSequence
                    original = item.ModifiedAttributesSequence[0]
                    assert str(original.PatientName) == str(sent.PatientName)  # the name as received
                    assert "InstitutionName" in original  # it was missing: recorded empty
                    assert item.SourceOfPreviousValues == "MR1" and item.ReasonForTheAttributeModification == "COERCE"
                    assert np.array_equal(ds.pixel_array, sent.pixel_array)
