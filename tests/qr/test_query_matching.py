"""PS3.4 C.2.2.2 matching by the index on SQLite, PostgreSQL and MariaDB alike (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.archive.ingest import Archive
from publisher.archive.query.keys import Level, Query, QueryError
from publisher.archive.query.matching import time_upper
from publisher.archive.query.search import search
from publisher.db import migrate
from publisher.db.session import Database
from tests.support.qr_studies import STUDIES, load

CT_HEAD, MR_SPINE, MR_KNEE, CR_CHEST, CT_ABD = (s.uid for s in STUDIES)


@pytest.fixture
def archive(db_url: str, tmp_path: Path) -> Archive:
    db = Database(db_url)
    migrate.upgrade(db.engine)
    archive = Archive(tmp_path / "archive", db)
    load(archive, tmp_path)
    yield archive
    db.dispose()


def _studies(archive: Archive, combine: bool = False, **matches: str) -> list[str]:
    rows = search(archive.db, Query(Level.STUDY, matches, ("StudyInstanceUID",), combine_datetime=combine))
    return sorted(r["StudyInstanceUID"] for r in rows)


def test_matching_semantics_are_the_same_on_every_backend(archive: Archive) -> None:
    # Single value matching is case- and accent-sensitive except for person names.
    assert _studies(archive, PatientID="PAT-LAT1") == sorted([CT_HEAD, MR_SPINE])
    assert _studies(archive, PatientID="pat-lat1") == []
    assert _studies(archive, InstitutionName="Klinik Sud") == []
    assert _studies(archive, InstitutionName="Klinik S?d") == sorted([CT_HEAD, MR_SPINE])
    assert _studies(archive, PatientName="müller^jürgen") == sorted([CT_HEAD, MR_SPINE])
    assert _studies(archive, PatientName="muller^jurgen") == []
    assert _studies(archive, PatientName="ИВАНОВА^*") == [MR_KNEE]
    # SQL wildcard characters in a value are literals, DICOM's are not.
    assert _studies(archive, AccessionNumber="ACC%") == []
    assert _studies(archive, AccessionNumber="ACC_001") == []
    assert _studies(archive, AccessionNumber="ACC*1") == sorted([CT_HEAD, CT_ABD])
    assert _studies(archive, StudyDescription="CT*") == sorted([CT_HEAD, CT_ABD])
    # Universal matching.
    assert len(_studies(archive, PatientName="*", StudyDate="")) == 5
    # Dates: closed, open, single, the retired YYYY.MM.DD form.
    assert _studies(archive, StudyDate="20260105-20260212") == sorted([CT_HEAD, MR_KNEE])
    assert _studies(archive, StudyDate="2026.03.01") == [CR_CHEST]
    # Times: a reduced-precision upper bound covers the whole hour / minute it names.
    assert _studies(archive, StudyTime="08-08") == [CT_HEAD]
    assert _studies(archive, StudyTime="1430-1430") == [MR_KNEE]
    assert _studies(archive, StudyTime="-0900") == sorted([CT_HEAD, CR_CHEST])
    assert time_upper("10") == "105959.999999" and time_upper("1015") == "101559.999999" and time_upper("101500.5") == "101500.599999"
    # Combined date-time range (negotiated) versus independent date and time ranges.
    assert _studies(archive, True, StudyDate="20260105-20260301", StudyTime="1000-0800") == [MR_KNEE]
    assert _studies(archive, False, StudyDate="20260105-20260301", StudyTime="1000-0800") == []
    assert _studies(archive, True, StudyDate="20260105-", StudyTime="0900-") == sorted([MR_KNEE, CR_CHEST])
    # UID lists, modalities in study, numbers.
    assert _studies(archive, StudyInstanceUID=f"{CT_HEAD}\\{CT_ABD}\\1.2.3") == sorted([CT_HEAD, CT_ABD])
    assert _studies(archive, ModalitiesInStudy="SR\\DOC") == sorted([CT_HEAD, MR_KNEE])
    series = list(search(archive.db, Query(Level.SERIES, {"SeriesNumber": "3"}, ("SeriesInstanceUID",))))
    assert [r["StudyInstanceUID"] for r in series] == [CT_ABD]
    assert list(search(archive.db, Query(Level.SERIES, {"SeriesNumber": "x"}, ()))) == []


def test_invalid_dates_are_refused(archive: Archive) -> None:
    with pytest.raises(QueryError):
        _studies(archive, StudyDate="2026-13")
    with pytest.raises(QueryError):
        _studies(archive, StudyTime="1a")
