"""Query/Retrieve information models and identifiers (PS3.4 C.3, C.4, C.6).

What both sides of Query/Retrieve share: the three information models with their levels and
SOP classes, turning a C-FIND / C-MOVE / C-GET identifier into an index :class:`Query`, and
turning an index row back into a response identifier in a Specific Character Set that can
carry its values (PS3.5 6.1.2.3; PS3.4 C.4.1.1.3.2).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.charset import python_encoding
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence

from publisher.archive.query.keys import KEY_BY_KEYWORD, UNIQUE_KEY, Kind, Level, Query, QueryError
from publisher.dicom.sop_classes import QUERY_RETRIEVE_SOP_CLASSES


class Model(enum.Enum):
    """Query/Retrieve information models (PS3.4 C.6.1, C.6.2, C.6.3)."""

    PATIENT_ROOT = "patient"
    STUDY_ROOT = "study"
    PATIENT_STUDY_ONLY = "patient-study"


#: The levels each model has, top first (PS3.4 C.6.1.1, C.6.2.1, C.6.3.1).
LEVELS: dict[Model, tuple[Level, ...]] = {
    Model.PATIENT_ROOT: (Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE),
    Model.STUDY_ROOT: (Level.STUDY, Level.SERIES, Level.IMAGE),
    Model.PATIENT_STUDY_ONLY: (Level.PATIENT, Level.STUDY),
}


@dataclass(frozen=True)
class ModelClasses:
    find: str
    move: str
    get: str


CLASSES: dict[Model, ModelClasses] = {Model(m): ModelClasses(f, mv, g) for m, f, mv, g in QUERY_RETRIEVE_SOP_CLASSES}
MODEL_BY_SOP_CLASS: dict[str, Model] = {
    uid: model for model, c in CLASSES.items() for uid in (c.find, c.move, c.get)
}

#: Elements the SCP fills itself rather than from the index.
_QUERY_RETRIEVE_LEVEL = "QueryRetrieveLevel"
_CHARSET = "SpecificCharacterSet"


def parse_model(text: str) -> Model:
    """``patient`` / ``study`` / ``patient-study`` (also ``P``, ``S``, ``O`` as DCMTK spells them)."""
    aliases = {"p": Model.PATIENT_ROOT, "s": Model.STUDY_ROOT, "o": Model.PATIENT_STUDY_ONLY, "psonly": Model.PATIENT_STUDY_ONLY}
    t = text.strip().lower()
    if t in aliases:
        return aliases[t]
    try:
        return Model(t)
    except ValueError:
        raise ValueError(f"unknown information model {text!r}: patient, study or patient-study") from None


def parse_level(text: str) -> Level:
    t = text.strip().upper()
    if t == "INSTANCE":
        t = "IMAGE"
    try:
        return Level[t]
    except KeyError:
        raise QueryError(f"Query/Retrieve Level {text!r} is not PATIENT, STUDY, SERIES or IMAGE") from None


def element_text(elem: DataElement) -> str:
    """The decoded value of a query element as one string (multi-values joined by ``\\``)."""
    value = elem.value
    if value is None or elem.VR == "SQ":
        return ""
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip(" \0")
    return str(value).strip(" \0")


def query_from_identifier(identifier: Dataset, model: Model) -> Query:
    """The index query of a C-FIND identifier (PS3.4 C.4.1.1.3.1)."""
    if _QUERY_RETRIEVE_LEVEL not in identifier:
        raise QueryError("the identifier has no Query/Retrieve Level (0008,0052)")
    level = parse_level(str(identifier.QueryRetrieveLevel))
    if level not in LEVELS[model]:
        raise QueryError(f"level {level.name} does not exist in the {model.value} root information model")
    matches: dict[str, str] = {}
    returns: list[str] = []
    for elem in identifier:
        keyword = elem.keyword
        if not keyword or keyword in (_QUERY_RETRIEVE_LEVEL, _CHARSET):
            continue
        returns.append(keyword)
        key = KEY_BY_KEYWORD.get(keyword)
        if key is not None and key.kind not in (Kind.COUNT, Kind.RETURN):
            text = element_text(elem)
            if text:
                matches[keyword] = text
    return Query(level, matches, tuple(returns))


def retrieve_query(identifier: Dataset, model: Model) -> Query:
    """The IMAGE-level query naming the instances a C-MOVE / C-GET identifier asks for.

    Only unique keys are used (PS3.4 C.4.2.2.1, C.4.3.2.1): the key of the retrieve level is
    required, keys above it narrow the match, lists of UIDs are allowed."""
    query = query_from_identifier(identifier, model)
    needed = UNIQUE_KEY[query.level]
    if not query.matches.get(needed):
        raise QueryError(f"a {query.level.name} level retrieve needs {needed}")
    unique = {UNIQUE_KEY[lv] for lv in LEVELS[model] if lv <= query.level}
    matches = {k: v for k, v in query.matches.items() if k in unique}
    return Query(Level.IMAGE, matches, ())


# -- responses ------------------------------------------------------------------------------


def _value(keyword: str, row: Mapping[str, Any]) -> Any:
    value = row.get(keyword)
    if value is None:
        return None
    if isinstance(value, list):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if value != "" else None


def response_charset(query_charset: Sequence[str], texts: Iterable[str]) -> list[str] | None:
    """The Specific Character Set of a response: the query's when it can carry every value,
    else UTF-8 (ISO_IR 192); None when all values are ASCII and the query named none."""
    values = [t for t in texts if t]
    if all(t.isascii() for t in values):
        return list(query_charset) or None
    terms = [t for t in query_charset if t]
    if len(query_charset) == 1 and terms and terms[0] in python_encoding:
        try:
            for t in values:
                t.encode(python_encoding[terms[0]])
            return list(query_charset)
        except UnicodeEncodeError:
            pass
    return ["ISO_IR 192"]


def response_identifier(
    identifier: Dataset,
    level: Level,
    model: Model,
    row: Mapping[str, Any],
    *,
    retrieve_ae_title: str = "",
) -> Dataset:
    """A pending C-FIND response for one match (PS3.4 C.4.1.1.3.2): every requested key, with
    its value when the index has one and empty otherwise, plus the unique keys of the model's
    levels down to ``level``."""
    rsp = Dataset()
    query_charset = identifier.get(_CHARSET, "")
    query_terms = list(query_charset) if isinstance(query_charset, (list, MultiValue)) else ([query_charset] if query_charset else [])
    texts: list[str] = []
    for elem in identifier:
        keyword = elem.keyword
        if elem.tag.group == 0x0008 and elem.tag.element == 0x0005:
            continue
        if keyword == _QUERY_RETRIEVE_LEVEL:
            continue
        if keyword == "RetrieveAETitle":
            rsp.RetrieveAETitle = retrieve_ae_title or None
            continue
        if keyword == "InstanceAvailability":
            rsp.InstanceAvailability = "ONLINE"
            continue
        value = _value(keyword, row) if keyword in KEY_BY_KEYWORD else None
        if elem.VR == "SQ":
            rsp.add_new(elem.tag, "SQ", DicomSequence())
        else:
            rsp.add_new(elem.tag, elem.VR, value)
            if isinstance(value, str):
                texts.append(value)
    for lv in LEVELS[model]:
        keyword = UNIQUE_KEY[lv]
        if lv <= level and keyword not in rsp:
            value = _value(keyword, row)
            setattr(rsp, keyword, value)
            if isinstance(value, str):
                texts.append(value)
    rsp.QueryRetrieveLevel = level.name
    charset = response_charset(query_terms, texts)
    if charset:
        rsp.SpecificCharacterSet = charset if len(charset) > 1 else charset[0]
    return rsp
