"""QIDO-RS (PS3.18 10.6): studies, series and instances searched with the C-FIND engine.

Query keys are attribute keywords or tags (PS3.18 8.3.4.1) with the matching of PS3.4 C.2.2.2
as :mod:`publisher.archive.query` does it for C-FIND (single value, UID list, with ``,`` or
``\\`` between UIDs, universal, wildcard ``*`` ``?``, date and time ranges); ``fuzzymatching``
is not supported and is said so in a Warning header (PS3.18 8.3.4.4). ``includefield`` names
more attributes (``all``: every one the index holds); ``limit`` and ``offset`` page the result
(8.3.4.5). The answer is ``application/dicom+json`` (Annex F.2): the default attributes of
Table 10.6.3-3 the index holds, the matching keys, and what ``includefield`` named; no match
is 204 No Content (PS3.18 Table 10.6.1-2... answered as 204, as 8.3.4 allows for an empty result)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import islice
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from publisher.archive.query.keys import KEY_BY_KEYWORD, KEYS, Kind, Level, Query, QueryError
from publisher.archive.query.search import search
from publisher.db.users import User
from publisher.web.auth import Permission
from publisher.web.context import web
from publisher.web.dicomweb import dicomjson
from publisher.web.dicomweb.access import allowed

router = APIRouter(prefix="/dicomweb")
DICOM_JSON = "application/dicom+json"
#: The largest page one request returns; ``limit`` asks for fewer.
MAX_RESULTS = 10_000

#: The attributes PS3.18 Table 10.6.3-3 returns by default, as far as the index holds them.
DEFAULTS: dict[Level, tuple[str, ...]] = {
    Level.STUDY: ("StudyDate", "StudyTime", "AccessionNumber", "ModalitiesInStudy", "ReferringPhysicianName",
                  "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyID",
                  "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"),
    Level.SERIES: ("Modality", "SeriesDescription", "SeriesNumber", "SeriesInstanceUID", "NumberOfSeriesRelatedInstances"),
    Level.IMAGE: ("SOPClassUID", "SOPInstanceUID", "InstanceNumber"),
}
_CONTROL = {"limit", "offset", "fuzzymatching", "includefield"}


def _number(request: Request, name: str, default: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit():
        raise HTTPException(400, f"{name} must be a non-negative integer, not {text!r}")
    return int(text)


def _keys(level: Level, scope: dict[str, str], request: Request) -> tuple[dict[str, str], list[str]]:
    """The matching keys and the attributes to return."""
    matches = dict(scope)
    returns: list[str] = list(DEFAULTS[level])
    if level > Level.STUDY and "StudyInstanceUID" not in scope:  # PS3.18 10.6.3.3.2: the study's too
        returns = list(DEFAULTS[Level.STUDY]) + returns
    if level > Level.SERIES and "SeriesInstanceUID" not in scope:
        returns = [*DEFAULTS[Level.SERIES], *returns]
    for name, value in request.query_params.multi_items():
        if name.lower() in _CONTROL:
            if name.lower() == "includefield":
                returns += _included(level, value)
            continue
        keyword = dicomjson.keyword_of(name)
        key = KEY_BY_KEYWORD.get(keyword or "")
        if key is None or key.level > level or key.kind in (Kind.COUNT, Kind.RETURN):
            raise HTTPException(400, f"{name!r} is not a query key of this resource "
                                     f"(supported: {', '.join(k.keyword for k in KEYS if k.level <= level)})")
        if key.kind is Kind.UID:
            value = value.replace(",", "\\")  # PS3.18 8.3.4.1: a UID list may be comma-separated
        matches[key.keyword] = value
        returns.append(key.keyword)
    return matches, list(dict.fromkeys(returns))


def _included(level: Level, value: str) -> list[str]:
    if value == "all":
        return [k.keyword for k in KEYS if k.level <= level and (k.kind is not Kind.COUNT or _count_fits(k.keyword, level))]
    out = []
    for name in value.split(","):
        keyword = dicomjson.keyword_of(name.strip())
        key = KEY_BY_KEYWORD.get(keyword or "")
        if key is not None and key.level <= level:  # others: not held, left out (PS3.18 8.3.4.3)
            out.append(key.keyword)
    return out


def _count_fits(keyword: str, level: Level) -> bool:
    return {"NumberOfStudyRelatedSeries": Level.STUDY, "NumberOfStudyRelatedInstances": Level.STUDY,
            "NumberOfSeriesRelatedInstances": Level.SERIES}.get(keyword) == level


def _retrieve_url(request: Request, row: dict[str, Any], level: Level) -> str:
    base = str(request.base_url).rstrip("/") + f"/dicomweb/studies/{row['StudyInstanceUID']}"
    if level >= Level.SERIES:
        base += f"/series/{row['SeriesInstanceUID']}"
    if level >= Level.IMAGE:
        base += f"/instances/{row['SOPInstanceUID']}"
    return base


def answer(request: Request, level: Level, scope: dict[str, str]) -> Response:
    matches, returns = _keys(level, scope, request)
    limit, offset = min(_number(request, "limit", MAX_RESULTS), MAX_RESULTS), _number(request, "offset", 0)
    returns = [kw for kw in returns if KEY_BY_KEYWORD[kw].kind is not Kind.COUNT or _count_fits(kw, level)]
    query = Query(level, matches, returns, combine_datetime=True)
    try:
        rows: Iterable[dict[str, Any]] = islice(search(web(request).db, query), offset, offset + limit)
        found = [_json(request, row, level, returns) for row in rows]
    except QueryError as exc:
        raise HTTPException(400, str(exc)) from None
    headers = {"Warning": '299 publisher "fuzzymatching is not supported"'} \
        if request.query_params.get("fuzzymatching", "false").lower() == "true" else {}
    if not found:
        return Response(status_code=204, headers=headers)
    return Response(json.dumps(found), media_type=DICOM_JSON, headers=headers)


def _json(request: Request, row: dict[str, Any], level: Level, returns: list[str]) -> dict[str, Any]:
    values = dict(row)
    values["RetrieveURL"] = _retrieve_url(request, row, level)
    values["InstanceAvailability"] = "ONLINE"
    return dicomjson.attributes(values, [*returns, "RetrieveURL", "InstanceAvailability"])


Reader = Depends(allowed(Permission.BROWSE))


@router.get("/studies")
def studies(request: Request, _user: User = Reader) -> Response:
    return answer(request, Level.STUDY, {})


@router.get("/series")
def all_series(request: Request, _user: User = Reader) -> Response:
    return answer(request, Level.SERIES, {})


@router.get("/instances")
def all_instances(request: Request, _user: User = Reader) -> Response:
    return answer(request, Level.IMAGE, {})


@router.get("/studies/{study}/series")
def series_of_study(study: str, request: Request, _user: User = Reader) -> Response:
    return answer(request, Level.SERIES, {"StudyInstanceUID": study})


@router.get("/studies/{study}/instances")
def instances_of_study(study: str, request: Request, _user: User = Reader) -> Response:
    return answer(request, Level.IMAGE, {"StudyInstanceUID": study})


@router.get("/studies/{study}/series/{series}/instances")
def instances_of_series(study: str, series: str, request: Request, _user: User = Reader) -> Response:
    return answer(request, Level.IMAGE, {"StudyInstanceUID": study, "SeriesInstanceUID": series})
