"""WADO-RS (PS3.18 10.4): instances, metadata, frames and rendered frames of archived studies.

- instances of a study, series or one instance: ``multipart/related; type="application/dicom"``,
  each part the stored file byte for byte (the index's file: the PS3.10 header the archive
  wrote and the data set as it was received, in its transfer syntax; 10.4.1.1.1);
- metadata: ``application/dicom+json`` (F.2), bulk data (pixel data, large binary values) left out;
- frames: ``multipart/related; type="application/octet-stream"`` of native (uncompressed) pixel
  data, one part per frame asked for (10.4.1.1.4); frames of compressed pixel data get 406;
- rendered: a frame as ``image/png`` or ``image/jpeg`` (10.4.1.1.3), windowed as the instance says.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from pydicom import dcmread

from publisher.archive.query.keys import Level, Query
from publisher.archive.query.search import search
from publisher.db.users import User
from publisher.web.auth import Permission
from publisher.web.context import web
from publisher.web.dicomweb import dicomjson, multipart
from publisher.web.dicomweb.access import allowed, file_of
from publisher.web.dicomweb.qido import DICOM_JSON

router = APIRouter(prefix="/dicomweb")
Reader = Depends(allowed(Permission.BROWSE))
_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}


def files(request: Request, study: str, series: str = "", instance: str = "") -> list[Path]:
    """The stored files of the study / series / instance in index order; 404 when none."""
    matches = {"StudyInstanceUID": study} | ({"SeriesInstanceUID": series} if series else {}) | \
        ({"SOPInstanceUID": instance} if instance else {})
    if any(c in v for v in matches.values() for c in "*?\\,"):
        raise HTTPException(400, "a WADO-RS path names one UID per level")
    rows = list(search(web(request).db, Query(Level.IMAGE, matches, ())))
    if not rows:
        raise HTTPException(404, "no such " + ("instance" if instance else "series" if series else "study"))
    return [file_of(request, str(r["path"])) for r in rows]


def _instances(request: Request, found: list[Path]) -> StreamingResponse:
    mark = multipart.boundary()
    return StreamingResponse(multipart.file_parts(found, "application/dicom", mark),
                             media_type=multipart.content_type("application/dicom", mark))


def _metadata(found: list[Path]) -> Response:
    body = [dicomjson.metadata(dcmread(p, stop_before_pixels=True)) for p in found]
    return Response(json.dumps(body), media_type=DICOM_JSON)


@router.get("/studies/{study}")
def study_instances(study: str, request: Request, _user: User = Reader) -> StreamingResponse:
    return _instances(request, files(request, study))


@router.get("/studies/{study}/series/{series}")
def series_instances(study: str, series: str, request: Request, _user: User = Reader) -> StreamingResponse:
    return _instances(request, files(request, study, series))


@router.get("/studies/{study}/series/{series}/instances/{instance}")
def one_instance(study: str, series: str, instance: str, request: Request, _user: User = Reader) -> StreamingResponse:
    return _instances(request, files(request, study, series, instance))


@router.get("/studies/{study}/metadata")
def study_metadata(study: str, request: Request, _user: User = Reader) -> Response:
    return _metadata(files(request, study))


@router.get("/studies/{study}/series/{series}/metadata")
def series_metadata(study: str, series: str, request: Request, _user: User = Reader) -> Response:
    return _metadata(files(request, study, series))


@router.get("/studies/{study}/series/{series}/instances/{instance}/metadata")
def instance_metadata(study: str, series: str, instance: str, request: Request, _user: User = Reader) -> Response:
    return _metadata(files(request, study, series, instance))


def _frame_numbers(text: str) -> list[int]:
    try:
        numbers = [int(n) for n in text.split(",")]
    except ValueError:
        raise HTTPException(400, f"frame list {text!r}: comma-separated frame numbers from 1") from None
    if not numbers or min(numbers) < 1:
        raise HTTPException(400, "frame numbers start at 1")
    return numbers


def native_frames(path: Path, numbers: list[int]) -> list[bytes]:
    """The bytes of frames ``numbers`` (1-based) of a native pixel data instance (PS3.5 8.1.1, 8.2)."""
    ds = dcmread(path)
    if "PixelData" not in ds:
        raise HTTPException(404, "the instance has no pixel data")
    if str(ds.file_meta.TransferSyntaxUID) not in _NATIVE:
        raise HTTPException(406, f"the pixel data is stored compressed ({ds.file_meta.TransferSyntaxUID}): "
                                 "retrieve the instance instead")
    count = int(ds.get("NumberOfFrames", 1) or 1)
    bits = int(ds.BitsAllocated)
    size = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1)) * bits // 8
    if bits < 8 and count > 1:
        raise HTTPException(406, "frames of 1-bit pixel data are not byte-aligned: retrieve the instance instead")
    if max(numbers) > count:
        raise HTTPException(404, f"the instance has {count} frame(s)")
    data: bytes = ds.PixelData
    return [data[(n - 1) * size: n * size] for n in numbers]


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}")
def frames(study: str, series: str, instance: str, frames: str, request: Request, _user: User = Reader) -> Response:
    (path,) = files(request, study, series, instance)
    parts = native_frames(path, _frame_numbers(frames))
    mark = multipart.boundary()
    return Response(multipart.byte_parts(parts, "application/octet-stream", mark),
                    media_type=multipart.content_type("application/octet-stream", mark, "1.2.840.10008.1.2.1"))


def rendered_frame(path: Path, number: int, kind: str) -> bytes:
    """Frame ``number`` as an 8-bit image, through the instance's modality and VOI LUT (PS3.3 C.11)."""
    import numpy as np
    from PIL import Image
    from pydicom.pixels.processing import apply_modality_lut, apply_voi_lut

    ds = dcmread(path)
    if "PixelData" not in ds:
        raise HTTPException(404, "the instance has no pixel data")
    arr: Any = ds.pixel_array
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if number > count:
        raise HTTPException(404, f"the instance has {count} frame(s)")
    if count > 1:
        arr = arr[number - 1]
    if int(ds.get("SamplesPerPixel", 1)) == 1:
        values = apply_voi_lut(apply_modality_lut(arr, ds), ds).astype("float64")
        lo, hi = float(values.min()), float(values.max())
        arr = ((values - lo) / (hi - lo or 1.0) * 255.0).round().astype(np.uint8)
        if ds.get("PhotometricInterpretation") == "MONOCHROME1":
            arr = 255 - arr
    out = io.BytesIO()
    Image.fromarray(arr).save(out, format="PNG" if kind == "image/png" else "JPEG")
    return out.getvalue()


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered")
def rendered(study: str, series: str, instance: str, frames: str, request: Request, _user: User = Reader) -> Response:
    (path,) = files(request, study, series, instance)
    numbers = _frame_numbers(frames)
    kind = "image/png" if "image/png" in request.headers.get("accept", "") else "image/jpeg"
    return Response(rendered_frame(path, numbers[0], kind), media_type=kind)


@router.get("/studies/{study}/series/{series}/instances/{instance}/rendered")
def rendered_instance(study: str, series: str, instance: str, request: Request, _user: User = Reader) -> Response:
    (path,) = files(request, study, series, instance)
    kind = "image/png" if "image/png" in request.headers.get("accept", "") else "image/jpeg"
    return Response(rendered_frame(path, 1, kind), media_type=kind)
