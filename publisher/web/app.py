"""FastAPI application: ``/health`` and a read-only JSON view of the index."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select, text

from publisher import __version__
from publisher.db.models import DiscJob, Instance, Patient, Series, Study
from publisher.db.session import Database


def create_app(db: Database, *, ae_title: str = "", dicom_port: int = 0) -> FastAPI:
    app = FastAPI(title="Disc publisher", version=__version__)

    @app.get("/health")
    def health() -> dict[str, Any]:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "ae_title": ae_title, "dicom_port": dicom_port}

    @app.get("/api/patients")
    def patients(limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        with db.session() as s:
            n_studies = func.count(func.distinct(Study.id))
            rows = s.execute(
                select(Patient, n_studies)
                .outerjoin(Study, Study.patient_fk == Patient.id)
                .group_by(Patient.id)
                .order_by(Patient.patient_name_norm, Patient.id)
                .limit(min(limit, 1000))
                .offset(offset)
            ).all()
            return [
                {
                    "id": p.id,
                    "patient_id": p.patient_id,
                    "issuer": p.issuer_of_patient_id,
                    "name": p.patient_name,
                    "birth_date": p.patient_birth_date,
                    "sex": p.patient_sex,
                    "studies": int(n),
                }
                for p, n in rows
            ]

    @app.get("/api/patients/{patient_pk}/studies")
    def studies(patient_pk: int) -> list[dict[str, Any]]:
        with db.session() as s:
            if s.get(Patient, patient_pk) is None:
                raise HTTPException(404, f"no patient {patient_pk}")
            rows = s.execute(
                select(Study, func.count(func.distinct(Series.id)), func.count(Instance.id))
                .outerjoin(Series, Series.study_fk == Study.id)
                .outerjoin(Instance, Instance.series_fk == Series.id)
                .where(Study.patient_fk == patient_pk)
                .group_by(Study.id)
                .order_by(Study.study_date.desc())
            ).all()
            return [
                {
                    "study_instance_uid": st.study_instance_uid,
                    "date": st.study_date,
                    "time": st.study_time,
                    "accession_number": st.accession_number,
                    "description": st.study_description,
                    "series": int(ns),
                    "instances": int(ni),
                }
                for st, ns, ni in rows
            ]

    @app.get("/api/studies/{study_uid}/series")
    def series(study_uid: str) -> list[dict[str, Any]]:
        with db.session() as s:
            study = s.scalar(select(Study).where(Study.study_instance_uid == study_uid))
            if study is None:
                raise HTTPException(404, f"no study {study_uid}")
            rows = s.execute(
                select(Series, func.count(Instance.id))
                .outerjoin(Instance, Instance.series_fk == Series.id)
                .where(Series.study_fk == study.id)
                .group_by(Series.id)
                .order_by(Series.series_number)
            ).all()
            return [
                {
                    "series_instance_uid": se.series_instance_uid,
                    "modality": se.modality,
                    "number": se.series_number,
                    "description": se.series_description,
                    "instances": int(n),
                }
                for se, n in rows
            ]

    @app.get("/api/jobs")
    def jobs(limit: int = 50) -> list[dict[str, Any]]:
        """Disc jobs, newest first, with live progress (written by the runner a few times a second)."""
        with db.session() as s:
            return [_job(j) for j in s.scalars(select(DiscJob).order_by(DiscJob.id.desc()).limit(min(limit, 500)))]

    @app.get("/api/jobs/{job_id}")
    def job(job_id: int) -> dict[str, Any]:
        with db.session() as s:
            j = s.get(DiscJob, job_id)
            if j is None:
                raise HTTPException(404, f"no disc job {job_id}")
            return _job(j) | {"volumes": json.loads(j.volumes), "discs": json.loads(j.discs)}

    @app.get("/", response_class=HTMLResponse)
    def home() -> str:
        return (
            "<!doctype html><meta charset='utf-8'><title>Disc publisher</title>"
            f"<h1>Disc publisher {__version__}</h1><p>DICOM AE <b>{ae_title}</b> on port {dicom_port}.</p>"
            "<p><a href='/api/patients'>Patients (JSON)</a> &middot; <a href='/api/jobs'>Disc jobs (JSON)</a>"
            " &middot; <a href='/docs'>API</a></p>"
        )

    return app


def _job(j: DiscJob) -> dict[str, Any]:
    return {
        "id": j.id,
        "state": j.state,
        "created_at": j.created_at.isoformat(),
        "created_by": j.created_by,
        "media": j.media,
        "copies": j.copies,
        "comment": j.comment,
        "selection": json.loads(j.selection),
        "progress": {"done": j.progress_done, "total": j.progress_total, "message": j.progress_message},
        "error": j.error,
    }
