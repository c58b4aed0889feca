"""``/studies/{uid}/view``: the on-disc viewer of an archived study, for those who browse the
index (:mod:`publisher.jobs.study_view` writes it; here its files are served)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from publisher.jobs.study_view import StudyView, study_view
from publisher.web.auth import Permission, Session
from publisher.web.context import require, web

router = APIRouter()
#: The disc viewer's start page picks its language in an inline script, and it draws on canvases
#: from blobs: allowed on the viewer's own files only, which stay same-origin and frame-free.
VIEWER_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
              "img-src 'self' data: blob:; object-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


async def _view(request: Request, study: str) -> StudyView:
    ctx = web(request)
    store = getattr(request.app.state, "archive", None)
    if store is None or ctx.data_dir is None:
        raise HTTPException(503, "no archive attached to this web app")
    cache = ctx.settings.jobs.viewer_cache_bytes if ctx.settings is not None else 0
    found = await run_in_threadpool(study_view, ctx.db, study, store.root, ctx.data_dir, cache)
    if found is None:
        raise HTTPException(404, f"no study {study}")
    return found


@router.get("/studies/{study}/view")
async def view(study: str, request: Request, _session: Session = Depends(require(Permission.BROWSE))) -> RedirectResponse:
    found = await _view(request, study)
    return RedirectResponse(f"/studies/{study}/view/{found.start_page}", status_code=303)


@router.get("/studies/{study}/view/{path:path}")
async def view_file(study: str, path: str, request: Request,
                    _session: Session = Depends(require(Permission.BROWSE))) -> FileResponse:
    found = await _view(request, study)
    target = (found.root / path).resolve()
    if not target.is_relative_to(found.root.resolve()) or not target.is_file() or target.name == "START.TXT":
        raise HTTPException(404, f"no file {path}")
    return FileResponse(Path(target), headers={"Content-Security-Policy": VIEWER_CSP})
