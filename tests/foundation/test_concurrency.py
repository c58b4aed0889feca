"""Eight concurrent storescu associations into one patient and study, on every backend."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import func, select

from publisher.demo import samples
from publisher.db.models import Instance, Patient, Series, Study
from tests.support.tools import require_tool
from tests.support.service import DCMTK_ENV, running_service, settings_for

ASSOCIATIONS = 8
PER_ASSOCIATION = 100


def test_eight_concurrent_associations(tmp_path: Path, db_url: str) -> None:
    require_tool("storescu")
    spec = samples.StudySpec(
        samples.CYRILLIC_PATIENT, "conc", "Concurrent",
        series=tuple(samples.SeriesSpec("ct", PER_ASSOCIATION, n + 1, f"S{n}", 16, 16) for n in range(ASSOCIATIONS)),
    )
    by_series: dict[int, list[Path]] = {}
    for ds in samples.build_study(spec):
        folder = tmp_path / "in" / str(ds.SeriesNumber)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{ds.SOPInstanceUID}.dcm"
        samples.as_file(ds).save_as(path, enforce_file_format=True)
        by_series.setdefault(int(ds.SeriesNumber), []).append(path)
    settings = settings_for(tmp_path / "svc", db_url, max_associations=ASSOCIATIONS + 2)
    with running_service(settings) as svc:
        procs = [
            subprocess.Popen(
                ["storescu", "-aet", "STORESCU", "-aec", "DISCPUB", "127.0.0.1", str(settings.dicom.port), *map(str, files)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=DCMTK_ENV,
            )
            for files in by_series.values()
        ]
        outputs = [p.communicate(timeout=600)[0] for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs
        with svc.db.session() as s:
            assert s.scalar(select(func.count(Instance.id))) == ASSOCIATIONS * PER_ASSOCIATION
            assert s.scalar(select(func.count(Series.id))) == ASSOCIATIONS
            assert s.scalar(select(func.count(Study.id))) == 1
            assert s.scalar(select(func.count(Patient.id))) == 1
            per_series = s.execute(select(Series.series_number, func.count(Instance.id)).join(Instance).group_by(Series.series_number)).all()
            assert sorted(per_series) == [(n + 1, PER_ASSOCIATION) for n in range(ASSOCIATIONS)]
        files = list(svc.archive.root.rglob("*.dcm"))
        assert len(files) == ASSOCIATIONS * PER_ASSOCIATION
