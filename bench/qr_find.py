"""Benchmark: C-FIND at IMAGE level for one series on an index of 100,000 instances (SQLite).

    .venv/bin/python bench/qr_find.py [--instances 100000] [--per-series 100]

Rows are inserted straight into the index (no files: C-FIND never reads them). Our service
answers; the SCU is DCMTK findscu (TCP_NODELAY=1, so the figure is not a Nagle artefact, wall
time includes starting findscu) and an in-process pynetdicom SCU (one association, query to
final response). Also timed: the index search alone, a STUDY-level query by patient name
wildcard, and the same one-series query on an index 10x smaller, to show the cost follows
the result and not the archive. Best of 5 runs each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydicom.dataset import Dataset  # noqa: E402
from pynetdicom import AE  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bench._common import best_of  # noqa: E402
from bench._peers import DCMTK_ENV, free_port  # noqa: E402
from publisher.archive.query.keys import Level, Query  # noqa: E402
from publisher.archive.query.search import search  # noqa: E402
from publisher.config import AllowedCaller, load_settings  # noqa: E402
from publisher.db.models import Instance, Patient, Series, Study  # noqa: E402
from publisher.dicom.sop_classes import STUDY_ROOT_FIND  # noqa: E402
from publisher.service import Service  # noqa: E402

ROOT = "1.2.826.0.1.3680043.10.999"
CT = "1.2.840.10008.5.1.4.1.1.2"


def fill(service: Service, instances: int, per_series: int, series_per_study: int = 5, studies_per_patient: int = 2) -> tuple[str, str]:
    """Insert patients / studies / series / instances rows; returns (study UID, series UID) of one series."""
    n_series = instances // per_series
    t0 = time.perf_counter()
    with service.db.engine.begin() as conn:
        pk = conn.execute(insert(Patient).values(patient_id="P0", issuer_of_patient_id="", patient_name="Bench^0", patient_name_norm="bench^0",
                                                 patient_birth_date="19700101", patient_sex="O", other_patient_ids="",
                                                 specific_character_set="")).inserted_primary_key[0]
        study_pk = series_pk = 0
        patients = studies = 1
        target = ("", "")
        rows: list[dict[str, object]] = []
        for se in range(n_series):
            if se % series_per_study == 0:
                if studies % studies_per_patient == 0:
                    pk = conn.execute(insert(Patient).values(patient_id=f"P{patients}", issuer_of_patient_id="", patient_name=f"Bench^{patients}",
                                                             patient_name_norm=f"bench^{patients}", patient_birth_date="19700101", patient_sex="O",
                                                             other_patient_ids="", specific_character_set="")).inserted_primary_key[0]
                    patients += 1
                study_uid = f"{ROOT}.{se // series_per_study}"
                study_pk = conn.execute(insert(Study).values(patient_fk=pk, study_instance_uid=study_uid, study_date=f"2026{1 + se % 12:02d}01",
                                                             study_time="101500", accession_number=f"A{se}", study_id="1",
                                                             referring_physician_name="", study_description="Bench", institution_name="Bench",
                                                             specific_character_set="")).inserted_primary_key[0]
                studies += 1
            series_uid = f"{study_uid}.{se}"
            series_pk = conn.execute(insert(Series).values(study_fk=study_pk, series_instance_uid=series_uid, modality="CT", series_number=se % series_per_study + 1,
                                                           series_description="", body_part_examined="", series_date="", series_time="")).inserted_primary_key[0]
            if se == n_series // 2:
                target = (study_uid, series_uid)
            for i in range(per_series):
                rows.append({"series_fk": series_pk, "sop_instance_uid": f"{series_uid}.{i}", "sop_class_uid": CT, "instance_number": i + 1,
                             "transfer_syntax_uid": "1.2.840.10008.1.2.1", "specific_character_set": "", "path": f"x/{se}/{i}.dcm",
                             "size": 1, "sha256": "0" * 64, "calling_ae": "", "peer_address": ""})
            if len(rows) >= 20000:
                conn.execute(insert(Instance), rows)
                rows = []
        if rows:
            conn.execute(insert(Instance), rows)
    print(f"  filled {instances:,} instances in {n_series:,} series, {studies - 1:,} studies, {patients:,} patients ({time.perf_counter() - t0:.1f} s)")
    return target


def findscu(port: int, study: str, series: str) -> int:
    proc = subprocess.run(["findscu", "-aet", "FINDSCU", "-aec", "DISCPUB", "-S", "-k", "QueryRetrieveLevel=IMAGE",
                           "-k", f"StudyInstanceUID={study}", "-k", f"SeriesInstanceUID={series}", "-k", "SOPInstanceUID",
                           "-k", "InstanceNumber", "-k", "SOPClassUID", "127.0.0.1", str(port)],
                          capture_output=True, text=True, env=DCMTK_ENV)
    assert proc.returncode == 0, proc.stderr
    return (proc.stdout + proc.stderr).count("Find Response")


def pynetdicom_find(port: int, study: str, series: str) -> int:
    ae = AE(ae_title="PYNETDICOM")
    ae.add_requested_context(STUDY_ROOT_FIND)
    assoc = ae.associate("127.0.0.1", port, ae_title="DISCPUB")
    q = Dataset()
    q.QueryRetrieveLevel = "IMAGE"
    q.StudyInstanceUID = study
    q.SeriesInstanceUID = series
    q.SOPInstanceUID = q.InstanceNumber = q.SOPClassUID = None
    n = sum(1 for status, ds in assoc.send_c_find(q, STUDY_ROOT_FIND) if status.Status == 0xFF00)
    assoc.release()
    return n


def run(work: Path, instances: int, per_series: int) -> dict[str, float]:
    base = load_settings(environ={})
    port = free_port()
    find = frozenset({"echo", "find"})
    dicom = replace(base.dicom, port=port, bind="127.0.0.1",
                    allowed_callers=(AllowedCaller("FINDSCU", services=find), AllowedCaller("PYNETDICOM", services=find)))
    settings = replace(base, data_dir=work, database_url="", load_samples=False, dicom=dicom)
    service = Service(settings)
    service.prepare()
    study, series = fill(service, instances, per_series)
    service.start_dicom()
    try:
        q = Query(Level.IMAGE, {"StudyInstanceUID": study, "SeriesInstanceUID": series}, ("SOPInstanceUID", "InstanceNumber"))
        assert sum(1 for _ in search(service.db, q)) == per_series
        assert pynetdicom_find(port, study, series) == per_series
        wildcard = Query(Level.STUDY, {"PatientName": "bench^12*"}, ("StudyInstanceUID", "NumberOfStudyRelatedInstances"))
        return {
            "index search (SQL only)": best_of(5, lambda: list(search(service.db, q))),
            "C-FIND, pynetdicom SCU": best_of(5, lambda: pynetdicom_find(port, study, series)),
            "C-FIND, DCMTK findscu (process incl.)": best_of(5, lambda: findscu(port, study, series)),
            "STUDY level, PatientName=bench^12* + counts (SQL)": best_of(5, lambda: list(search(service.db, wildcard))),
        }
    finally:
        service.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--per-series", type=int, default=100)
    args = ap.parse_args()
    results = {}
    for n in (args.instances // 10, args.instances):
        print(f"index of {n:,} instances (SQLite):")
        with tempfile.TemporaryDirectory() as tmp:
            results[n] = run(Path(tmp), n, args.per_series)
        for label, seconds in results[n].items():
            print(f"  {label:<50} {seconds * 1000:8.1f} ms")
    small, big = results[args.instances // 10], results[args.instances]
    key = "C-FIND, pynetdicom SCU"
    print(f"one-series IMAGE query ({args.per_series} matches): {big[key] * 1000:.1f} ms on {args.instances:,} instances, "
          f"{small[key] * 1000:.1f} ms on {args.instances // 10:,} (ratio {big[key] / small[key]:.2f})")


if __name__ == "__main__":
    main()
