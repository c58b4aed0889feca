"""Acceptance 5: our MWL SCU reads entries from DCMTK wlmscpfs (worklist files made with
dump2dcm), including a non-ASCII patient name; entries are matched to archived studies."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.archive.ingest import Archive
from publisher.config import RemoteAE
from publisher.db import migrate
from publisher.db.session import Database
from publisher.dicom.mwl_scu import WorklistQuery, match_studies, query_worklist
from tests.support.net import free_port
from tests.support.tools import require_tool
from tests.support.service import settings_for
from tests.support.qr_studies import DCMTK_ENV, STUDIES, load
from tests.support.peers import wait_echo

CT_HEAD, MR_KNEE = STUDIES[0], STUDIES[2]

#: (file, dump2dcm text). The first names a study we hold by its UID, the second only by its
#: accession number, the third nothing we have.
ENTRIES = {
    "muller.wl": f"""(0008,0005) CS [ISO_IR 192]
(0008,0050) SH [ACC1001]
(0010,0010) PN [Müller^Jürgen]
(0010,0020) LO [PAT-LAT1]
(0010,0030) DA [19561103]
(0010,0040) CS [M]
(0020,000d) UI [{CT_HEAD.uid}]
(0032,1060) LO [CT Schädel]
(0040,0100) SQ (Sequence with undefined length #=1)
  (fffe,e000) na (Item with undefined length #=6)
    (0008,0060) CS [CT]
    (0040,0001) AE [CT01]
    (0040,0002) DA [20260105]
    (0040,0003) TM [081200]
    (0040,0007) LO [CT head plain]
    (0040,0009) SH [SPS1001]
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0040,1001) SH [RP1001]
""",
    "ivanova.wl": """(0008,0005) CS [ISO_IR 192]
(0008,0050) SH [ACC1002]
(0010,0010) PN [Иванова^Мария]
(0010,0020) LO [PAT-CYR]
(0010,0030) DA [19820417]
(0010,0040) CS [F]
(0020,000d) UI [1.2.826.0.1.3680043.99.777]
(0032,1060) LO [MR knee]
(0040,0100) SQ (Sequence with undefined length #=1)
  (fffe,e000) na (Item with undefined length #=6)
    (0008,0060) CS [MR]
    (0040,0001) AE [MR01]
    (0040,0002) DA [20260212]
    (0040,0003) TM [143000]
    (0040,0007) LO [MR knee]
    (0040,0009) SH [SPS1002]
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0040,1001) SH [RP1002]
""",
    "other.wl": """(0008,0005) CS [ISO_IR 100]
(0008,0050) SH [ACC9999]
(0010,0010) PN [Doe^Jane]
(0010,0020) LO [PAT-DOE]
(0010,0030) DA [19900101]
(0010,0040) CS [F]
(0020,000d) UI [1.2.826.0.1.3680043.99.999]
(0032,1060) LO [CT chest]
(0040,0100) SQ (Sequence with undefined length #=1)
  (fffe,e000) na (Item with undefined length #=6)
    (0008,0060) CS [CT]
    (0040,0001) AE [CT01]
    (0040,0002) DA [20260310]
    (0040,0003) TM [100000]
    (0040,0007) LO [CT chest]
    (0040,0009) SH [SPS9999]
  (fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0040,1001) SH [RP9999]
""",
}


@pytest.fixture
def worklist(tmp_path: Path) -> Iterator[RemoteAE]:
    require_tool("wlmscpfs", "dump2dcm", "echoscu")
    folder = tmp_path / "wl" / "WLM"
    folder.mkdir(parents=True)
    (folder / "lockfile").touch()
    for name, text in ENTRIES.items():
        dump = tmp_path / f"{name}.txt"
        dump.write_text(text, encoding="utf-8")
        subprocess.run(["dump2dcm", "-g", str(dump), str(folder / name)], check=True, env=DCMTK_ENV, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(["wlmscpfs", "-csk", "-dfp", str(tmp_path / "wl"), str(port)], env=DCMTK_ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_echo(port, "WLM")
        yield RemoteAE("WLM", "127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait()


def test_worklist_entries_with_non_ascii_names_and_matching_to_the_archive(worklist: RemoteAE, sqlite_url: str, tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "svc", sqlite_url).dicom
    everything = list(query_worklist(settings, worklist, WorklistQuery()))
    assert sorted(e.patient_name for e in everything) == ["Doe^Jane", "Müller^Jürgen", "Иванова^Мария"]
    ct = list(query_worklist(settings, worklist, WorklistQuery(station_ae_title="CT01", modality="CT", date="20260101-20260131")))
    assert [(e.patient_id, e.accession_number, e.step_description, e.start_time) for e in ct] == [("PAT-LAT1", "ACC1001", "CT head plain", "081200")]
    cyr = list(query_worklist(settings, worklist, WorklistQuery(patient_name="Иванова*")))
    assert [e.patient_name for e in cyr] == ["Иванова^Мария"]
    assert [e.requested_procedure_description for e in cyr] == ["MR knee"]

    db = Database(sqlite_url)
    migrate.upgrade(db.engine)
    load(Archive(tmp_path / "archive", db), tmp_path, [CT_HEAD, MR_KNEE])
    matches = {m.entry.patient_id: m for m in match_studies(db, everything)}
    assert (matches["PAT-LAT1"].study_uids, matches["PAT-LAT1"].matched_by) == ([CT_HEAD.uid], "study-uid")
    assert (matches["PAT-CYR"].study_uids, matches["PAT-CYR"].matched_by) == ([MR_KNEE.uid], "accession")
    assert (matches["PAT-DOE"].study_uids, matches["PAT-DOE"].matched_by) == ([], "")
    db.dispose()
