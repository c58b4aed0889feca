"""Benchmark: C-FIND STUDY, universal matching, 11 keys incl. counts: ours against Orthanc.

    .venv/bin/python bench/qr_find.py [--rounds 5] [--studies 3000,10000]

Both archives hold the same studies (one CT instance each, two studies per patient): Orthanc
receives them by C-STORE (DCMTK storescu), ours gets the rows straight into its index (C-FIND
never reads the files). The SCU is DCMTK's findscu (``/usr/bin/findscu``: the venv carries
pynetdicom's script of that name) with TCP_NODELAY=1, so no figure is a Nagle artefact; wall
time includes starting findscu. Orthanc answers an unknown caller with DicomAlwaysAllowFind.
Rounds are interleaved (the order flips each round); min and median are reported.

``rows(rounds)`` gives the rows of the ``make bench`` table.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bench._peers import DCMTK_ENV, free_port, orthanc  # noqa: E402
from publisher.config import AllowedCaller, load_settings  # noqa: E402
from publisher.db.models import Instance, Patient, Series, Study  # noqa: E402
from publisher.service import Service  # noqa: E402

ROOT = "1.2.826.0.1.3680043.10.997"
CT = "1.2.840.10008.5.1.4.1.1.2"
FINDSCU = "/usr/bin/findscu"
STORESCU = "/usr/bin/storescu"
#: The 11 keys of issue 19's measurement.
KEYS = ("StudyInstanceUID", "PatientName", "PatientID", "PatientBirthDate", "StudyDate", "StudyTime", "AccessionNumber",
        "StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances")
TARGET = "ratio <= 1.00 (at least as fast as Orthanc)"


def study(s: int) -> dict[str, str]:
    return {"patient_id": f"P{s // 2}", "patient_name": f"Bench^{s // 2}", "uid": f"{ROOT}.{s}", "date": f"2026{1 + s % 12:02d}01",
            "accession": f"A{s}"}


def write_files(out: Path, first: int, last: int) -> None:
    """One small CT instance (no pixel data: C-FIND never needs it) per study ``first..last-1``."""
    out.mkdir(parents=True, exist_ok=True)
    for s in range(first, last):
        v = study(s)
        ds = Dataset()
        ds.SOPClassUID, ds.SOPInstanceUID = CT, f"{v['uid']}.1.1"
        ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = v["patient_name"], v["patient_id"], "19700101", "O"
        ds.StudyInstanceUID, ds.StudyDate, ds.StudyTime = v["uid"], v["date"], "101500"
        ds.AccessionNumber, ds.StudyID, ds.StudyDescription = v["accession"], "1", "Bench"
        ds.SeriesInstanceUID, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = f"{v['uid']}.1", "CT", 1, 1
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID = CT, ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.save_as(out / f"{s}.dcm", enforce_file_format=True)


def fill_index(service: Service, first: int, last: int) -> None:
    """The same studies as :func:`write_files`, as rows of our index."""
    with service.db.engine.begin() as conn:
        known = {r[0] for r in conn.execute(select(Patient.patient_id))}
        pats = {study(s)["patient_id"]: study(s)["patient_name"] for s in range(first, last)}
        new = [{"patient_id": p, "issuer_of_patient_id": "", "patient_name": n, "patient_name_norm": n.lower(), "patient_birth_date": "19700101",
                "patient_sex": "O", "other_patient_ids": "", "specific_character_set": ""} for p, n in pats.items() if p not in known]
        if new:
            conn.execute(insert(Patient), new)
        pk = dict(conn.execute(select(Patient.patient_id, Patient.id)).all())
        conn.execute(insert(Study), [{"patient_fk": pk[study(s)["patient_id"]], "study_instance_uid": study(s)["uid"], "study_date": study(s)["date"],
                                      "study_time": "101500", "accession_number": study(s)["accession"], "study_id": "1", "referring_physician_name": "",
                                      "study_description": "Bench", "institution_name": "", "specific_character_set": ""} for s in range(first, last)])
        spk = dict(conn.execute(select(Study.study_instance_uid, Study.id)).all())
        conn.execute(insert(Series), [{"study_fk": spk[study(s)["uid"]], "series_instance_uid": f"{study(s)['uid']}.1", "modality": "CT",
                                       "series_number": 1, "series_description": "", "body_part_examined": "", "series_date": "",
                                       "series_time": ""} for s in range(first, last)])
        sepk = dict(conn.execute(select(Series.series_instance_uid, Series.id)).all())
        conn.execute(insert(Instance), [{"series_fk": sepk[f"{study(s)['uid']}.1"], "sop_instance_uid": f"{study(s)['uid']}.1.1", "sop_class_uid": CT,
                                         "instance_number": 1, "transfer_syntax_uid": ExplicitVRLittleEndian, "specific_character_set": "",
                                         "path": f"x/{s}.dcm", "size": 1, "sha256": "0" * 64, "calling_ae": "", "peer_address": ""}
                                        for s in range(first, last)])


def findscu(port: int, aec: str, verbose: bool = False) -> str:
    cmd = [FINDSCU, "-aet", "FINDSCU", "-aec", aec, "-S", *(["-v"] if verbose else []), "-k", "QueryRetrieveLevel=STUDY"]
    for k in KEYS:
        cmd += ["-k", k]
    proc = subprocess.run([*cmd, "127.0.0.1", str(port)], capture_output=True, text=True, env=DCMTK_ENV)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(ours: int, peer: int, rounds: int, n: int) -> dict[str, Any]:
    for port, aec in ((ours, "DISCPUB"), (peer, "ORTHANC")):
        got = findscu(port, aec, verbose=True).count("(Pending)")
        assert got == n, f"{aec} answered {got} of {n} studies"
    times: dict[str, list[float]] = {"ours": [], "peer": []}
    for r in range(rounds):
        order = [("ours", ours, "DISCPUB"), ("peer", peer, "ORTHANC")]
        for side, port, aec in order if r % 2 == 0 else order[::-1]:
            times[side].append(timed(lambda: findscu(port, aec)))
    ours_s, peer_s = min(times["ours"]), min(times["peer"])
    return {"work": f"C-FIND STUDY universal, {n:,} studies, 11 keys incl. counts", "ours_s": ours_s, "peer": "Orthanc", "peer_s": peer_s,
            "ratio": ours_s / peer_s, "target": TARGET, "ours_median_s": statistics.median(times["ours"]),
            "peer_median_s": statistics.median(times["peer"]), "rounds": rounds}


def rows(rounds: int, sizes: tuple[int, ...] = (3000, 10000), lean: bool = True) -> list[dict[str, Any]]:
    """One row per archive size: ours and Orthanc, min of ``rounds`` interleaved runs
    (``lean=False``: ours served by pynetdicom, the path before issue 19)."""
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        base = load_settings(environ={})
        dicom = replace(base.dicom, port=free_port(), bind="127.0.0.1", lean_find=lean,
                        allowed_callers=(AllowedCaller("FINDSCU", services=frozenset({"echo", "find"})),))
        service = Service(replace(base, data_dir=work / "ours", database_url="", load_samples=False, dicom=dicom))
        service.prepare()
        service.start_dicom()
        try:
            with orthanc(work / "orthanc", DicomAlwaysAllowFind=True) as (peer, _aec):
                done = 0
                for n in sorted(sizes):
                    files = work / f"files-{n}"
                    write_files(files, done, n)
                    fill_index(service, done, n)
                    subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", "ORTHANC", "+sd", "127.0.0.1", str(peer), str(files)],
                                   check=True, capture_output=True, env=DCMTK_ENV)
                    done = n
                    out.append(measure(dicom.port, peer, rounds, n))
        finally:
            service.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--studies", default="3000,10000")
    ap.add_argument("--pynetdicom", action="store_true", help="ours served by pynetdicom (lean_find off), for comparison")
    args = ap.parse_args()
    for row in rows(args.rounds, tuple(int(x) for x in args.studies.split(",")), lean=not args.pynetdicom):
        print(f"{row['work']}: ours {row['ours_s']:.2f} s (median {row['ours_median_s']:.2f}), Orthanc {row['peer_s']:.2f} s "
              f"(median {row['peer_median_s']:.2f}), ratio {row['ratio']:.2f} (target: {row['target']}, ratio <= 1)")


if __name__ == "__main__":
    main()
