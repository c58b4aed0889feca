"""Discs written by other products' conventions (foreign patient IDs, character sets, ISO tools), for the reader and import tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from publisher.demo import samples as S
from tests.support.tools import require_tool, run

FOREIGN_CYR = replace(S.CYRILLIC_PATIENT, patient_id="12345", issuer="")
FOREIGN_CJK = replace(S.CJK_PATIENT, patient_id="A-77", issuer="")
FOREIGN_LAT = replace(S.LATIN1_PATIENT, patient_id="K-0815", issuer="")


def foreign_studies() -> list[S.StudySpec]:
    """Two patients (Cyrillic and CJK names, UTF-8): MR + PDF, CR + US cine."""
    return [
        S.StudySpec(FOREIGN_CYR, "mr", "МРТ колена", "20260212", "143000", "N-1",
                    series=(S.SeriesSpec("mr", 3, 1, "T1 саг", 32, 32), S.SeriesSpec("pdf", 1, 91, "Отчёт"))),
        S.StudySpec(FOREIGN_CJK, "cr", "胸部X線", "20260301", "090000", "N-2",
                    series=(S.SeriesSpec("cr", 1, 1, "胸部", 32, 32), S.SeriesSpec("us", 1, 2, "US", 16, 16))),
    ]


def latin1_study() -> S.StudySpec:
    """One patient encoded in ISO_IR 100: CT + SR."""
    return S.StudySpec(FOREIGN_LAT, "ct", "CT Schädel nativ", "20260105", "081200", "N-3",
                       series=(S.SeriesSpec("ct", 3, 1, "Axial", 32, 32), S.SeriesSpec("sr", 1, 90, "Befund")))


def write_foreign_fileset(root: Path, studies: list[S.StudySpec], file_set_id: str = "KLINIKNORD") -> dict[str, str]:
    """Files under ``root/IMAGES/Pn/Sn/Innnn`` and a DICOMDIR made by DCMTK ``dcmmkdir``;
    returns SOP Instance UID -> path relative to ``root``."""
    require_tool("dcmmkdir")
    written: dict[str, str] = {}
    for p, study in enumerate(studies, 1):
        for i, ds in enumerate(S.build_study(study), 1):
            rel = f"IMAGES/P{p}/S1/I{i:04d}"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            S.as_file(ds).save_as(root / rel, enforce_file_format=True)
            written[str(ds.SOPInstanceUID)] = rel
    run("dcmmkdir", "+r", "+I", "+F", file_set_id, "IMAGES", cwd=root)
    assert (root / "DICOMDIR").is_file()
    return written


def iso_with(tool: str, folder: Path, out: Path, volume_id: str = "KLINIKNORD") -> Path:
    """An ISO image of ``folder`` made by ``genisoimage`` (ISO 9660 only) or ``xorriso`` (Rock Ridge)."""
    require_tool(tool)
    if tool == "genisoimage":
        run("genisoimage", "-quiet", "-V", volume_id, "-o", out, folder)
    else:
        run("xorriso", "-outdev", f"stdio:{out}", "-volid", volume_id, "-map", folder, "/")
    return out

