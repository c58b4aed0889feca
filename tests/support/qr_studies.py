"""Helpers for Query/Retrieve tests: a loaded archive, DCMTK QR tool runs, peers."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset

from publisher.archive.ingest import Archive
from publisher.config import SERVICES, AllowedCaller
from publisher.demo import samples
from publisher.demo.samples import PatientSpec, SeriesSpec, StudySpec
from tests.support.peers import DCMTK_ENV

SMITH = PatientSpec("Smith^Anna", "PAT-SMITH", "19700315", "F", "ISO_IR 100")

#: The archive every C-FIND test queries: four patients in three character sets, several
#: studies, dates and modalities. Counts below are derived from these specs.
STUDIES: tuple[StudySpec, ...] = (
    StudySpec(samples.LATIN1_PATIENT, "ct-head", "CT Schädel", "20260105", "081200", "ACC1001", "11",
              institution="Klinik Süd", series=(SeriesSpec("ct", 3, 1, "Axial", 16, 16), SeriesSpec("sr", 1, 90, "Report"))),
    StudySpec(samples.LATIN1_PATIENT, "mr-spine", "MR LWS", "20250610", "153000", "ACC0900", "12",
              institution="Klinik Süd", series=(SeriesSpec("mr", 2, 1, "T2 sag", 16, 16),)),
    StudySpec(samples.CYRILLIC_PATIENT, "mr-knee", "МРТ колена", "20260212", "143000", "ACC1002", "21",
              series=(SeriesSpec("mr", 2, 1, "T1", 16, 16), SeriesSpec("pdf", 1, 91, "Report"))),
    StudySpec(samples.CJK_PATIENT, "cr-chest", "胸部X線", "20260301", "090000", "ACC1003", "31",
              series=(SeriesSpec("cr", 2, 1, "PA", 16, 16),)),
    StudySpec(SMITH, "ct-abd", "CT Abdomen", "20241224", "231500", "ACC0001", "41",
              institution="Other Hospital", series=(SeriesSpec("ct", 2, 3, "Venous", 16, 16),)),
)


def instance_count(*studies: StudySpec) -> int:
    return sum(s.count for st in studies for s in st.series)


def load(archive: Archive, tmp: Path, studies: Sequence[StudySpec] = STUDIES) -> dict[str, list[Path]]:
    """Write and file ``studies``; returns files per study key."""
    out: dict[str, list[Path]] = {}
    for spec in studies:
        paths = samples.write_study(spec, tmp / "src" / spec.key)
        for p in paths:
            archive.store_file(p)
        out[spec.key] = paths
    return out


@dataclass(frozen=True)
class FindResult:
    returncode: int
    responses: list[Dataset]
    stderr: str  # stdout and stderr: DCMTK logs to both


def findscu(port: int, model: str, keys: Sequence[str | bytes], out: Path, *extra: str, aec: str = "DISCPUB") -> FindResult:
    """DCMTK findscu with responses extracted to files (-X) and read back with pydicom.

    ``model`` is P, S or O (patient root, study root, patient/study only)."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("rsp*.dcm"):
        old.unlink()
    cmd: list[str | bytes] = ["findscu", "-aet", "FINDSCU", "-aec", aec, f"-{model}", "-X", "-od", str(out), *extra]
    for k in keys:
        cmd += ["-k", k]
    cmd += ["127.0.0.1", str(port)]
    proc = subprocess.run(cmd, capture_output=True, env=DCMTK_ENV, timeout=60)
    files = sorted(out.glob("rsp*.dcm"))
    log = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    return FindResult(proc.returncode, [dcmread(f) for f in files], log)


#: Every QR test caller may use every service (rights themselves: tests/foundation/test_caller_rights.py).
QR_CALLERS = tuple(AllowedCaller(t, services=frozenset(SERVICES))
                   for t in ("FINDSCU", "MOVESCU", "GETSCU", "STORESCU", "ECHOSCU", "PYNETDICOM", "QRSCU"))

