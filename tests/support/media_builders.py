"""Test data for media: sample studies on disk and MediaInstance lists read from them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from publisher.demo import samples as S
from publisher.media.model import DiscFile, MediaInstance
from publisher.media.scan import instances_from_files


def write(datasets: Sequence[Dataset], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ds in datasets:
        path = folder / f"{ds.SOPInstanceUID}.dcm"
        S.as_file(ds).save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def acceptance_studies() -> list[S.StudySpec]:
    """3 patients (Latin-1, Cyrillic UTF-8, CJK UTF-8); CT, MR, SR, PDF, KOS, GSPS, US, CR."""
    return [
        S.StudySpec(S.LATIN1_PATIENT, "ct", "CT Schädel nativ", "20260105", "081200", "ACC1",
                    series=(S.SeriesSpec("ct", 4, 1, "Axial", 64, 64), S.SeriesSpec("sr", 1, 90, "Befund"),
                            S.SeriesSpec("kos", 1, 91), S.SeriesSpec("gsps", 1, 92))),
        S.StudySpec(S.CYRILLIC_PATIENT, "mr", "МРТ колена", "20260212", "143000", "ACC2",
                    series=(S.SeriesSpec("mr", 3, 1, "T1 саг", 64, 64), S.SeriesSpec("pdf", 1, 91, "Отчёт"))),
        S.StudySpec(S.CJK_PATIENT, "cr", "胸部X線", "20260301", "090000", "ACC3",
                    series=(S.SeriesSpec("cr", 1, 1, "胸部", 64, 64), S.SeriesSpec("us", 1, 2, "US", 32, 32))),
    ]


def acceptance_files(folder: Path) -> tuple[list[Path], str, str]:
    """Write the acceptance selection plus a rejection note; returns (paths, rejected UID, note UID)."""
    paths: list[Path] = []
    rejected_uid = note_uid = ""
    for spec in acceptance_studies():
        datasets = S.build_study(spec)
        if spec.key == "ct":
            victim = datasets[3]  # the 4th CT slice is rejected for quality reasons
            note = S.rejection_note(spec, [victim])
            rejected_uid, note_uid = str(victim.SOPInstanceUID), str(note.SOPInstanceUID)
            datasets.append(note)
        paths += write(datasets, folder / spec.key)
    return paths, rejected_uid, note_uid


def read(paths: Sequence[Path]) -> list[MediaInstance]:
    return instances_from_files(paths)


def pixels(path: Path):  # type: ignore[no-untyped-def]
    return pydicom.dcmread(path).pixel_array


def extract_volume(volume, dest: Path) -> Path:  # type: ignore[no-untyped-def]
    """Files of the volume's image extracted with xorriso (osirrox)."""
    from tests.support.tools import require_tool, run

    require_tool("xorriso")
    run("xorriso", "-osirrox", "on", "-indev", volume.image, "-extract", "/", dest)
    return dest


def disc_files(root: Path, files: dict[str, bytes]) -> list[DiscFile]:
    out = []
    for dest, data in files.items():
        path = root / "src" / dest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        out.append(DiscFile(dest, path, len(data)))
    return out

