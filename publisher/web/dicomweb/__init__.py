"""DICOMweb (PS3.18) over the archive: QIDO-RS (:mod:`.qido`), WADO-RS (:mod:`.wado`), STOW-RS
(:mod:`.stow`) under ``/dicomweb``, for a logged-in session or a bearer token (:mod:`.access`).
Reads go through :mod:`publisher.archive.query` (the C-FIND engine) and the index's file paths;
STOW-RS files through :class:`publisher.archive.ingest.Archive` as the Storage SCP does."""

from fastapi import APIRouter

from publisher.web.dicomweb import qido, stow, wado

#: QIDO first: its literal segments (``/series``, ``/instances``) before WADO's ``{uid}`` ones.
routers: list[APIRouter] = [qido.router, wado.router, stow.router]
