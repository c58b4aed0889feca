"""FastAPI application: ``/health``, the JSON API over the index and jobs, and the operator pages.

Everything but ``/health``, ``/login`` and the static CSS/JS needs a logged-in session
(:mod:`publisher.web.auth`), the API's schema (``/openapi.json``, ``/docs``) too; what a role
may see and do is the table ``auth.PERMISSIONS``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from publisher import __version__
from publisher import health as service_health
from publisher.archive import lookup
from publisher.config import Settings
from publisher.db.models import DiscJob
from publisher.db.session import Database
from publisher.jobs import records
from publisher.jobs.robots import RobotBoard, explain
from publisher.web import admin, admin_label, admin_rules, admin_settings, api_docs, desk, forwards, job_actions, login, pacs, preview, render, settings_store
from publisher.web import robots as robot_pages
from publisher.web import jobs as job_pages
from publisher.web import studies as study_pages
from publisher.web.auth import Permission, Signer, load_secret
from publisher.web import dicomweb, i18n_web, study_view
from publisher.web.i18n_web import i18n_middleware
from publisher.web.context import Count, RowId, WebContext, current_session, html_error, install_handlers, require

STATIC = Path(__file__).resolve().parent / "static"


def create_app(db: Database, *, ae_title: str = "", dicom_port: int = 0, data_dir: Path | None = None,
               secret: bytes | None = None, time_zone: str = "", settings: Settings | None = None,
               apply_settings: Callable[[Settings], None] | None = None, robots: Callable[[], RobotBoard] | None = None,
               health: Callable[[], dict[str, Any]] | None = None) -> FastAPI:
    """The web app on ``db``. Sessions are signed with ``secret``, else with the one kept in
    ``data_dir`` (made on first start), else with a random one that lasts as long as the process.
    Pages show times in ``time_zone`` ("" = the machine's zone, :func:`render.local_time`).
    The Settings page edits ``settings`` (none: it shows they are not known here) and hands a
    change to ``apply_settings``, which makes the running service take it. ``robots`` gives the
    service's robots (status page), ``health`` the service's report for ``/health``
    (:mod:`publisher.health`; without it only the database is checked)."""
    render.set_time_zone(time_zone)
    if secret is None:
        secret = load_secret(data_dir) if data_dir is not None else secrets.token_bytes(32)
    app = FastAPI(title="Disc publisher", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = WebContext(db, Signer(secret), data_dir, ae_title, dicom_port, settings, apply_settings, robots)
    install_handlers(app)
    i18n_middleware(app)

    async def not_editable(request: Any, exc: Exception) -> HTMLResponse:
        return html_error("Settings", str(exc), 409)

    app.add_exception_handler(settings_store.NotEditable, not_editable)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/health")
    def health_check() -> JSONResponse:
        """DICOM, worker, each robot, disk free and the database; 503 when a part is down."""
        body = health() if health is not None else \
            service_health.report([service_health.database(db)], ae_title=ae_title, dicom_port=dicom_port)
        body = {**body, "version": __version__}
        return JSONResponse(body, status_code=200 if body.get("status") == "ok" else 503)

    browse = APIRouter(dependencies=[Depends(require(Permission.BROWSE))])
    see_jobs = APIRouter(dependencies=[Depends(require(Permission.VIEW_JOBS))])

    @browse.get("/api/patients")
    def patients(limit: Count = 200, offset: Count = 0) -> list[dict[str, Any]]:
        return [
            {"id": p.pk, "patient_id": p.patient_id, "issuer": p.issuer, "name": p.name, "birth_date": p.birth_date,
             "sex": p.sex, "studies": p.studies}
            for p in lookup.patients_page(db, limit=min(limit, 1000), offset=offset)
        ]

    @browse.get("/api/patients/{patient_pk}/studies")
    def studies(patient_pk: RowId) -> list[dict[str, Any]]:
        found = lookup.studies_of_patient(db, patient_pk)
        if found is None:
            raise HTTPException(404, f"no patient {patient_pk}")
        return [
            {"study_instance_uid": st.study_instance_uid, "date": st.date, "time": st.time,
             "accession_number": st.accession_number, "description": st.description, "series": st.series,
             "instances": st.instances}
            for st in found
        ]

    @browse.get("/api/studies/{study_uid}/series")
    def series(study_uid: str) -> list[dict[str, Any]]:
        found = lookup.series_of_study(db, study_uid)
        if found is None:
            raise HTTPException(404, f"no study {study_uid}")
        return [
            {"series_instance_uid": se.series_instance_uid, "modality": se.modality, "number": se.number,
             "description": se.description, "instances": se.instances}
            for se in found
        ]

    @see_jobs.get("/api/jobs")
    def jobs(limit: Count = 50) -> list[dict[str, Any]]:
        """Disc jobs, newest first, with live progress (written by the runner a few times a second)."""
        with db.session() as s:
            return [_job(j) for j in lookup.recent_jobs(s, min(limit, 500))]

    @see_jobs.get("/api/jobs/{job_id}")
    def job(job_id: RowId) -> dict[str, Any]:
        with db.session() as s:
            j = lookup.disc_job(s, job_id)
            if j is None:
                raise HTTPException(404, f"no disc job {job_id}")
            return _job(j) | {"volumes": [v.to_json() for v in records.load_volumes(j.volumes)],
                              "discs": [d.to_json() for d in records.load_discs(j.discs)]}

    routers = [browse, see_jobs, login.router, i18n_web.router, study_pages.router, preview.router, pacs.router, job_pages.router,
               admin.router, api_docs.router, admin_settings.router, admin_rules.router, admin_label.router, forwards.router,
               job_actions.router, desk.router, robot_pages.router, *dicomweb.routers, study_view.router]
    #: every route of the app with its methods (tests walk them to check each one's login)
    app.state.routes = [r for r in app.router.routes if isinstance(r, APIRoute)] + \
        [r for router in routers for r in router.routes if isinstance(r, APIRoute)]
    _refuse_unguarded(app.state.routes)
    for router in routers:
        app.include_router(router)
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
        "selection": records.Selection.loads(j.selection).to_json(),
        "progress": {"done": j.progress_done, "total": j.progress_total, "message": j.progress_message},
        "error": j.error,
        "error_message": (advice.message if (advice := explain(j.error)) else j.error),
        "cancel_requested": bool(j.cancel_requested),
        "robot": j.robot,
    }


#: The only routes served without a session.
PUBLIC = frozenset({"/health", "/login", "/static"})


def _refuse_unguarded(routes: list[APIRoute]) -> None:
    """Fail at start if a route other than :data:`PUBLIC` was added without a session check
    (``current_session``, or a dependency marked ``checks_login``: DICOMweb's session-or-token)."""

    def guarded(dependant: Any) -> bool:
        return any(d.call is current_session or getattr(d.call, "checks_login", False) or guarded(d)
                   for d in dependant.dependencies)

    for route in routes:
        if route.path not in PUBLIC and not guarded(route.dependant):
            raise RuntimeError(f"web route {route.path} has no login check")
