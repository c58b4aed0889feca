"""STOW-RS (PS3.18 10.5): ``multipart/related; type="application/dicom"`` POSTed to
``/dicomweb/studies`` (or ``/studies/{uid}``, whose instances must then belong to that study),
each part a PS3.10 file filed by the archive's durable path as a C-STORE is
(:meth:`publisher.archive.ingest.Archive.store_encoded`: file and folder synced, index row
committed, before the answer). The answer (10.5.3, dicom+json) lists what was stored in the
Referenced SOP Sequence with its RetrieveURL, and what was not in the Failed SOP Sequence with
the Failure Reason (the C-STORE status, PS3.4 Table B.2-1); 200 when every instance was
stored, 202 when some were not, 409 when none was."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from starlette.concurrency import run_in_threadpool

from publisher.archive.file_meta import dataset_bytes
from publisher.archive.ingest import Archive, Provenance, StoreRefused
from publisher.archive.statuses import Status
from publisher.db.users import User
from publisher.web.auth import Permission
from publisher.web.dicomweb import dicomjson, multipart
from publisher.web.dicomweb.access import allowed, archive
from publisher.web.dicomweb.qido import DICOM_JSON

router = APIRouter(prefix="/dicomweb")
log = logging.getLogger(__name__)
#: Failure Reason of an instance of another study than the one the URL names (in the Cxxx
#: "cannot understand" range of PS3.4 Table B.2-1, as other archives answer it).
STUDY_MISMATCH = 0xC409
#: The largest STOW-RS request read into memory.
MAX_BODY = 2 << 30
Writer = Depends(allowed(Permission.STORE))


def _store(store: Archive, body: bytes, study: str, address: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """File one part; (stored-item, {}) or ({}, failed-item) as PS3.18 Table 10.5.3-1 lists them."""
    uids: dict[str, str] = {}
    try:
        head = dcmread(io.BytesIO(body), stop_before_pixels=True, force=True,
                       specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"])
        uids = {k: str(head.get(k, "")) for k in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID")}
        if study and uids["StudyInstanceUID"] != study:
            return {}, _failed(uids, STUDY_MISMATCH)
        encoded, ts = dataset_bytes(io.BytesIO(body))
        stored = store.store_encoded(encoded, ts, provenance=Provenance("STOW-RS", address))
    except StoreRefused as exc:
        return {}, _failed(uids, int(exc.status))
    except (InvalidDicomError, ValueError, EOFError, KeyError, AttributeError):
        return {}, _failed(uids, int(Status.CANNOT_UNDERSTAND))
    except Exception:  # an answer for every part, as a C-STORE gets one (PS3.18 Table 10.5.3-2: 0110)
        log.exception("STOW-RS of %s failed", uids.get("SOPInstanceUID", "?"))
        return {}, _failed(uids, 0x0110)
    return {"uids": {"SOPClassUID": stored.meta.sop_class_uid, "SOPInstanceUID": stored.sop_instance_uid,
                     "StudyInstanceUID": stored.meta.study_instance_uid,
                     "SeriesInstanceUID": stored.meta.series_instance_uid}}, {}


def _failed(uids: dict[str, str], reason: int) -> dict[str, Any]:
    return {"uids": uids, "reason": reason}


def _item(request: Request, entry: dict[str, Any]) -> dict[str, Any]:
    u = entry["uids"]
    out = {"ReferencedSOPClassUID": u.get("SOPClassUID", ""), "ReferencedSOPInstanceUID": u.get("SOPInstanceUID", "")}
    keys = list(out)
    if "reason" in entry:
        out["FailureReason"] = entry["reason"]
        keys.append("FailureReason")
    else:
        out["RetrieveURL"] = (str(request.base_url).rstrip("/") + f"/dicomweb/studies/{u['StudyInstanceUID']}"
                              f"/series/{u['SeriesInstanceUID']}/instances/{u['SOPInstanceUID']}")
        keys.append("RetrieveURL")
    return dicomjson.attributes(out, keys)


async def _stow(request: Request, study: str) -> Response:
    kind, params = multipart.params(request.headers.get("content-type", ""))
    if kind != "multipart/related" or params.get("type", "application/dicom").lower() != "application/dicom":
        raise HTTPException(415, 'STOW-RS takes multipart/related; type="application/dicom" (PS3.18 10.5.1.1)')
    if "boundary" not in params:
        raise HTTPException(400, "the Content-Type has no boundary")
    if int(request.headers.get("content-length", "0") or 0) > MAX_BODY:
        raise HTTPException(413, f"a STOW-RS request holds at most {MAX_BODY >> 20} MB")
    try:
        parts = multipart.read_parts(await request.body(), params["boundary"])
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    store = archive(request)
    address = request.client.host if request.client else ""
    stored: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for part in parts:
        if multipart.params(part.content_type or "application/dicom")[0] != "application/dicom":
            failed.append(_failed({}, int(Status.CANNOT_UNDERSTAND)))
            continue
        ok, bad = await run_in_threadpool(_store, store, part.body, study, address)
        (stored if ok else failed).append(ok or bad)
    body: dict[str, Any] = {}
    if study:
        body |= dicomjson.attributes({"RetrieveURL": str(request.base_url).rstrip("/") + f"/dicomweb/studies/{study}"},
                                     ["RetrieveURL"])
    if stored:
        body[dicomjson.tag_hex("ReferencedSOPSequence")] = dicomjson.sequence("x", [_item(request, e) for e in stored])
    if failed:
        body[dicomjson.tag_hex("FailedSOPSequence")] = dicomjson.sequence("x", [_item(request, e) for e in failed])
    status = 200 if not failed else 202 if stored else 409
    return Response(json.dumps(dict(sorted(body.items()))), status_code=status, media_type=DICOM_JSON)


@router.post("/studies")
async def store_instances(request: Request, _user: User = Writer) -> Response:
    return await _stow(request, "")


@router.post("/studies/{study}")
async def store_study(study: str, request: Request, _user: User = Writer) -> Response:
    return await _stow(request, study)
