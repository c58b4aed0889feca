"""Acceptance 2: DCMTK movescu and getscu retrieve a study, a series and one instance from us;
a destination accepting only Explicit VR Little Endian still receives a JPEG-stored study
(decompressed). Also: sub-operation counts, the Failed SOP Instance UID List, an unknown move
destination (A801), and C-CANCEL of a streaming C-FIND (PS3.4 C.4.1 - C.4.3, PS3.7 9.3.2.3)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE
from sqlalchemy import insert

from publisher.demo import samples
from publisher.config import RemoteAE
from publisher.db.models import Instance, Patient, Series, Study
from publisher.dicom.sop_classes import PATIENT_ROOT_FIND, STUDY_ROOT_FIND, STUDY_ROOT_MOVE
from publisher.service import Service
from tests.support.net import free_port
from tests.support.tools import require_tool
from tests.support.service import running_service, settings_for
from tests.support.qr_studies import QR_CALLERS
from tests.support.qr_studies import DCMTK_ENV, STUDIES, load
from tests.support.peers import getscu, movescu, storescp_explicit_images_only

CT_HEAD = STUDIES[0]
JPEG_STUDY = samples.StudySpec(samples.ASCII_PATIENT, "jpeg", "JPEG CT", series=(samples.SeriesSpec("ct", 3, 1, "JPEG", 32, 32),))
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
EXPLICIT_LE = "1.2.840.10008.1.2.1"


@dataclass
class Setup:
    service: Service
    port: int
    move_port: int
    explicit_dir: Path
    originals: dict[str, np.ndarray]  # SOP Instance UID -> native pixels of the JPEG study


@pytest.fixture
def setup(sqlite_url: str, tmp_path: Path) -> Iterator[Setup]:
    require_tool("movescu", "getscu", "storescp", "dcmcjpeg")
    move_port = free_port()
    explicit_dir = tmp_path / "explicit"
    with storescp_explicit_images_only(explicit_dir) as explicit_port:
        remotes = (RemoteAE("MOVESCU", "127.0.0.1", move_port), RemoteAE("EXPLICIT", "127.0.0.1", explicit_port))
        settings = settings_for(tmp_path / "svc", sqlite_url, allowed_callers=QR_CALLERS, remotes=remotes)
        with running_service(settings) as service:
            load(service.archive, tmp_path, [CT_HEAD])
            originals = {}
            for native in samples.write_study(JPEG_STUDY, tmp_path / "native"):
                jpeg = tmp_path / "jpeg" / native.name
                jpeg.parent.mkdir(exist_ok=True)
                subprocess.run(["dcmcjpeg", str(native), str(jpeg)], check=True, env=DCMTK_ENV)
                originals[dcmread(jpeg).SOPInstanceUID] = dcmread(native).pixel_array
                service.archive.store_file(jpeg)
            yield Setup(service, settings.dicom.port, move_port, explicit_dir, originals)


def _received(folder: Path) -> list[Dataset]:
    return [dcmread(f) for f in sorted(folder.rglob("*")) if f.is_file() and not f.name.endswith(".cfg")]


def _uids(study: samples.StudySpec) -> tuple[list[str], str]:
    datasets = samples.build_study(study)
    ct = [str(d.SOPInstanceUID) for d in datasets if d.Modality == "CT"]
    series = str(next(d.SeriesInstanceUID for d in datasets if d.Modality == "CT"))
    return ct, series


def test_movescu_and_getscu_retrieve_study_series_and_instance(setup: Setup, tmp_path: Path) -> None:
    ct, series = _uids(CT_HEAD)
    selections = {
        "study": ("S", ["QueryRetrieveLevel=STUDY", f"StudyInstanceUID={CT_HEAD.uid}"], 4),
        "series": ("P", ["QueryRetrieveLevel=SERIES", "PatientID=PAT-LAT1", f"StudyInstanceUID={CT_HEAD.uid}", f"SeriesInstanceUID={series}"], 3),
        "instance": ("S", ["QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={CT_HEAD.uid}", f"SeriesInstanceUID={series}", f"SOPInstanceUID={ct[1]}"], 1),
    }
    for name, (model, keys, count) in selections.items():
        out = tmp_path / "move" / name
        out.mkdir(parents=True)
        proc = movescu(setup.port, model, keys, "MOVESCU", "+P", str(setup.move_port), "-od", str(out))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        got = _received(out)
        assert len(got) == count, (name, proc.stdout + proc.stderr)
        assert {d.StudyInstanceUID for d in got} == {CT_HEAD.uid}
        got_get = _received_after(getscu(setup.port, model, keys, tmp_path / "get" / name), tmp_path / "get" / name)
        assert sorted(d.SOPInstanceUID for d in got_get) == sorted(d.SOPInstanceUID for d in got), name
    assert [d.SOPInstanceUID for d in _received(tmp_path / "move" / "instance")] == [ct[1]]


def _received_after(proc: subprocess.CompletedProcess[str], folder: Path) -> list[Dataset]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return _received(folder)


def test_jpeg_study_is_decompressed_for_a_destination_accepting_only_explicit_little_endian(setup: Setup, tmp_path: Path) -> None:
    keys = ["QueryRetrieveLevel=STUDY", f"StudyInstanceUID={JPEG_STUDY.uid}"]
    proc = movescu(setup.port, "S", keys, "EXPLICIT")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = _received(setup.explicit_dir)
    assert len(got) == 3
    for ds in got:
        assert ds.file_meta.TransferSyntaxUID == EXPLICIT_LE
        assert np.array_equal(ds.pixel_array, setup.originals[ds.SOPInstanceUID])
    # C-GET proposing only native syntaxes (getscu default) gets the same decompressed pixels ...
    native = _received_after(getscu(setup.port, "S", keys, tmp_path / "get-native"), tmp_path / "get-native")
    assert {str(d.file_meta.TransferSyntaxUID) for d in native} <= {EXPLICIT_LE, "1.2.840.10008.1.2"} and len(native) == 3
    # ... and a destination that also accepts JPEG Lossless gets the stored bytes untouched.
    jpeg_dir = tmp_path / "move-jpeg"
    jpeg_dir.mkdir()
    proc = movescu(setup.port, "S", keys, "MOVESCU", "+P", str(setup.move_port), "+xa", "-od", str(jpeg_dir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jpeg = _received(jpeg_dir)
    assert {str(d.file_meta.TransferSyntaxUID) for d in jpeg} == {JPEG_LOSSLESS_SV1}
    for ds in jpeg:
        stored = setup.service.archive.root.rglob(f"{ds.SOPInstanceUID}.dcm")
        assert bytes(ds.PixelData) == bytes(dcmread(next(stored)).PixelData)


def _scu() -> AE:
    ae = AE(ae_title="PYNETDICOM")
    ae.add_requested_context(STUDY_ROOT_MOVE)
    ae.add_requested_context(STUDY_ROOT_FIND)
    ae.add_requested_context(PATIENT_ROOT_FIND)
    return ae


def test_move_counts_failed_uid_list_and_unknown_destination(setup: Setup) -> None:
    """The explicit-only destination has no context for Basic Text SR: that sub-operation fails
    and is the only UID in the Failed SOP Instance UID List (PS3.4 C.4.2.1.4.2)."""
    assoc = _scu().associate("127.0.0.1", setup.port, ae_title="DISCPUB")
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = CT_HEAD.uid
    responses = list(assoc.send_c_move(query, "EXPLICIT", STUDY_ROOT_MOVE))
    pending = [s for s, _ in responses if s.Status == 0xFF00]
    assert [s.NumberOfRemainingSuboperations for s in pending] == [3, 2, 1, 0]
    final, identifier = responses[-1]
    assert final.Status == 0xB000
    assert (final.NumberOfCompletedSuboperations, final.NumberOfFailedSuboperations, final.NumberOfWarningSuboperations) == (3, 1, 0)
    sr_uid = next(str(d.SOPInstanceUID) for d in samples.build_study(CT_HEAD) if d.Modality == "SR")
    failed = identifier.FailedSOPInstanceUIDList
    assert ([failed] if isinstance(failed, str) else list(failed)) == [sr_uid]

    status, _ = list(assoc.send_c_move(query, "NOBODY", STUDY_ROOT_MOVE))[-1]
    assert status.Status == 0xA801
    missing = Dataset()
    missing.QueryRetrieveLevel = "STUDY"  # no Study Instance UID: identifier does not match
    status, _ = list(assoc.send_c_move(missing, "EXPLICIT", STUDY_ROOT_MOVE))[-1]
    assert status.Status == 0xA900 or (status.Status & 0xF000) in (0xA000, 0xC000)
    assoc.release()


def _bulk_series(service: Service, count: int) -> str:
    """One series of ``count`` instance rows inserted directly (no files: C-FIND never reads them)."""
    series_uid = "1.2.826.0.1.3680043.99.1.1"
    with service.db.engine.begin() as conn:
        p = conn.execute(insert(Patient).values(patient_id="BULK", issuer_of_patient_id="", patient_name="Bulk^Test", patient_name_norm="bulk^test",
                                                patient_birth_date="", patient_sex="", other_patient_ids="", specific_character_set="")).inserted_primary_key[0]
        s = conn.execute(insert(Study).values(patient_fk=p, study_instance_uid="1.2.826.0.1.3680043.99.1", study_date="20260101", study_time="",
                                              accession_number="", study_id="", referring_physician_name="", study_description="",
                                              institution_name="", specific_character_set="")).inserted_primary_key[0]
        se = conn.execute(insert(Series).values(study_fk=s, series_instance_uid=series_uid, modality="CT", series_description="",
                                                body_part_examined="", series_date="", series_time="")).inserted_primary_key[0]
        conn.execute(insert(Instance), [
            {"series_fk": se, "sop_instance_uid": f"{series_uid}.{i}", "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2", "instance_number": i,
             "transfer_syntax_uid": EXPLICIT_LE, "specific_character_set": "", "path": f"x/{i}.dcm", "size": 1, "sha256": "0" * 64,
             "calling_ae": "", "peer_address": ""}
            for i in range(count)
        ])
    return series_uid


CANCEL_MATCHES = 3000


def test_c_cancel_stops_a_streaming_find(setup: Setup) -> None:
    series_uid = _bulk_series(setup.service, CANCEL_MATCHES)
    assoc = _scu().associate("127.0.0.1", setup.port, ae_title="DISCPUB")
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.StudyInstanceUID = "1.2.826.0.1.3680043.99.1"
    query.SeriesInstanceUID = series_uid
    query.SOPInstanceUID = ""
    context_id = next(cx.context_id for cx in assoc.accepted_contexts if cx.abstract_syntax == STUDY_ROOT_FIND)
    statuses = []
    for status, _identifier in assoc.send_c_find(query, STUDY_ROOT_FIND, msg_id=7):
        statuses.append(status.Status)
        if len(statuses) == 5:
            assoc.send_c_cancel(7, context_id)
    assoc.release()
    assert statuses[-1] == 0xFE00, (len(statuses), hex(statuses[-1]))
    assert statuses[:5] == [0xFF00] * 5 and len(statuses) < CANCEL_MATCHES
