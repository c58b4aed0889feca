"""Ten associations sending the same 30 SOP Instance UIDs at once, each copy different.

Whatever arrives concurrently, the archive must end with exactly one file and one index row per
SOP Instance UID, the row describing that file (path, size, SHA-256, patient), and the
duplicate policy must hold exactly: under ``reject`` the first copy gets success and every
other one 0x0111 (PS3.4 B.2.3 "Duplicate SOP Instance" is a warning-class code some archives
answer; we answer it as a refusal), and the stored file is the one its sender was told was
stored; under ``keep-first`` and ``replace`` everyone gets success and one consistent pair
remains. Senders 0-4 share one Patient ID (so their copies race for the same path), 5-9 have
their own (so their copies land under different folders). Real peers: DCMTK storescu, both
storage paths (lean and pynetdicom), SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import select

from publisher.demo import samples
from publisher.archive.durable import sha256_file
from publisher.db.models import Instance, Patient, Series, Study
from tests.support.tools import require_tool
from tests.support.service import DCMTK_ENV, archive_files, running_service, settings_for

SENDERS = 10
UIDS = 30
SHARED = 5  # senders 0..SHARED-1 share one Patient ID


UID_LIST = [str(samples.make_uid("dup-race", i)) for i in range(UIDS)]


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> list[list[Path]]:
    """For each sender, its own copy of the 30 instances: same SOP Instance UIDs, its own
    patient (or the shared one) and its own pixels (the sender's number in every pixel)."""
    tmp = tmp_path_factory.mktemp("copies")
    uids = UID_LIST
    out: list[list[Path]] = []
    for k in range(SENDERS):
        pid = "DUP-SHARED" if k < SHARED else f"DUP-{k}"
        patient = samples.PatientSpec(f"Sender^{k}", pid, charset="ISO_IR 100")
        spec = samples.StudySpec(patient, "race", series=(samples.SeriesSpec("ct", UIDS, 1, "", 8, 8),))
        folder = tmp / f"sender{k}"
        folder.mkdir(parents=True)
        paths = []
        for i, ds in enumerate(samples.build_study(spec)):
            ds.SOPInstanceUID = uids[i]
            ds.PixelData = bytes([k]) * len(ds.PixelData)
            ds.ImageComments = f"sender {k}"
            path = folder / f"{i:02d}.dcm"
            samples.as_file(ds).save_as(path, enforce_file_format=True)
            paths.append(path)
        out.append(paths)
    return out


_RESPONSE = re.compile(r"Received Store Response \(([^)]*)\)")


def _statuses(output: str) -> list[str]:
    """storescu -v prints one 'Received Store Response (<status>)' per file, in order."""
    return _RESPONSE.findall(output)


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "pynetdicom"])
@pytest.mark.parametrize("policy", ["keep-first", "reject", "replace"])
def test_concurrent_duplicates_leave_one_consistent_pair(tmp_path: Path, db_url: str, policy: str, lean: bool,
                                                         copies: list[list[Path]]) -> None:
    require_tool("storescu")
    settings = settings_for(tmp_path / "svc", db_url, duplicate_policy=policy, lean_storage=lean, max_associations=SENDERS + 2)
    with running_service(settings) as svc:
        procs = [
            subprocess.Popen(
                ["storescu", "-v", "-nh", "-aet", "STORESCU", "-aec", "DISCPUB", "127.0.0.1", str(settings.dicom.port), *map(str, files)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=DCMTK_ENV,
            )
            for files in copies
        ]
        outputs = [p.communicate(timeout=600)[0] for p in procs]
        statuses = [_statuses(o) for o in outputs]
        assert all(len(s) == UIDS for s in statuses), outputs
        root = svc.archive.root
        with svc.db.session() as s:
            rows = s.execute(
                select(Instance, Patient.patient_id)
                .join(Series, Instance.series_fk == Series.id).join(Study).join(Patient)
            ).all()
        files = [p for p in archive_files(root) if p.parent.name != ".incoming"]
        assert not list((root / ".incoming").glob("*")), "partial files left behind"

    assert len(rows) == UIDS, f"{len(rows)} rows for {UIDS} UIDs"
    assert len(files) == UIDS, f"{len(files)} files for {UIDS} UIDs"
    by_uid = {row.sop_instance_uid: (row, pid) for row, pid in rows}
    for f in files:
        ds = dcmread(f)
        row, pid = by_uid[str(ds.SOPInstanceUID)]
        assert root / row.path == f, "the row points at another file"
        assert row.sha256 == sha256_file(f) and row.size == f.stat().st_size, "the row describes another copy"
        sender = int(str(ds.ImageComments).split()[1])
        assert set(bytes(ds.PixelData)) == {sender}
        assert ds.PatientID == pid == ("DUP-SHARED" if sender < SHARED else f"DUP-{sender}")
        i = UID_LIST.index(str(ds.SOPInstanceUID))
        answers = [statuses[k][i] for k in range(SENDERS)]
        if policy == "reject":
            assert answers.count("Success") == 1, answers
            assert answers[sender] == "Success", "the stored copy is not the one whose sender was told success"
        else:
            assert answers == ["Success"] * SENDERS, answers
