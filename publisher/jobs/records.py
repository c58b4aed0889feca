"""Typed records of the JSON columns of a disc job (:class:`publisher.db.models.DiscJob`).

Each column is read and written here only: ``selection`` (:class:`Selection`), ``volumes``
(:class:`Volume`, one per volume mastered), ``discs`` (:class:`Disc`, one per disc the robot
made), ``problems`` (:class:`Problem`, what the last planning refused) and ``exclude``
(SOP Instance UID -> reason). ``to_json()`` gives the plain data stored (and shown by the web
API as it is); ``from_json()`` reads every shape stored so far: rows written before labels were
rendered at mastering have no ``label``/``label_pdf``, older ones no ``descriptions``, and the
oldest ``exclude`` is a plain list of UIDs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else ()


def _loads(text: str | None, empty: str) -> Any:
    return json.loads(text or empty)


@dataclass(frozen=True)
class Selection:
    """What a person picked: any mix of patients (``ID`` or ``ID\\ISSUER``,
    :func:`publisher.archive.identity.resolve_patients`), Study and Series Instance UIDs, and
    single SOP Instance UIDs (a PACS's media creation request, PS3.4 Annex S)."""

    patients: Sequence[str] = ()
    studies: Sequence[str] = ()
    series: Sequence[str] = ()
    instances: Sequence[str] = ()

    def describe(self) -> str:
        parts = [f"{len(v)} {k}" for k, v in (("patient(s)", self.patients), ("study(ies)", self.studies), ("series", self.series),
                                            ("instance(s)", self.instances)) if v]
        return ", ".join(parts) or "nothing"

    def to_json(self) -> dict[str, list[str]]:
        out = {"patients": list(self.patients), "studies": list(self.studies), "series": list(self.series)}
        if self.instances:  # only then: selections stored before instances existed read the same
            out["instances"] = list(self.instances)
        return out

    @classmethod
    def from_json(cls, data: object) -> Selection:
        """Raises ValueError when ``data`` is not a selection (not an object)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"not a selection: {data!r}")
        return cls(_strings(data.get("patients")), _strings(data.get("studies")), _strings(data.get("series")),
                   _strings(data.get("instances")))

    def dumps(self) -> str:
        return json.dumps(self.to_json())

    @classmethod
    def loads(cls, text: str | None) -> Selection:
        return cls.from_json(_loads(text, "{}"))


@dataclass(frozen=True)
class LabelPatient:
    """A patient as a label names them (PS3.3 C.7.1.1 Patient ID, Name, Birth Date)."""

    id: str
    name: str
    birth_date: str = ""

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "birth_date": self.birth_date}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelPatient:
        return cls(str(data.get("id", "")), str(data.get("name", "")), str(data.get("birth_date") or ""))


@dataclass(frozen=True, kw_only=True)
class VolumeSummary:
    """What a label says about volume ``number`` of ``count``: patients, study dates,
    modalities and study descriptions (known at planning, before anything is mastered)."""

    number: int
    count: int
    patients: tuple[LabelPatient, ...] = ()
    study_dates: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    descriptions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "count": self.count, "patients": [p.to_json() for p in self.patients],
                "study_dates": list(self.study_dates), "modalities": list(self.modalities),
                "descriptions": list(self.descriptions)}


@dataclass(frozen=True, kw_only=True)
class Volume(VolumeSummary):
    """One volume mastered: its summary, File-set ID, image (or folder) and size, and the label
    files rendered for it (printer PNG, PDF proof, and the case insert when the label names only
    some patients)."""

    file_set_id: str = ""
    image: str = ""
    size: int = 0
    label: str | None = None
    label_pdf: str | None = None
    insert: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {**super().to_json(), "file_set_id": self.file_set_id, "image": self.image, "size": self.size}
        out |= {k: v for k, v in (("label", self.label), ("label_pdf", self.label_pdf), ("insert", self.insert))
                if v is not None}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Volume:
        def opt(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        return cls(number=int(data["number"]), count=int(data.get("count", 1)),
                   patients=tuple(LabelPatient.from_json(p) for p in data.get("patients", ())),
                   study_dates=_strings(data.get("study_dates")), modalities=_strings(data.get("modalities")),
                   descriptions=_strings(data.get("descriptions")), file_set_id=str(data.get("file_set_id", "")),
                   image=str(data.get("image", "")), size=int(data.get("size", 0)),
                   label=opt("label"), label_pdf=opt("label_pdf"), insert=opt("insert"))


@dataclass(frozen=True)
class Disc:
    """One disc a robot made of volume ``volume``: copy, good or not, the bin it went to, the
    checksum of what was read back and the robot's error."""

    volume: int
    copy: int
    ok: bool = True
    bin: str = ""
    sha256: str | None = None
    error: str | None = None

    @property
    def key(self) -> str:
        return f"{self.volume}-{self.copy}"

    def to_json(self) -> dict[str, Any]:
        return {"volume": self.volume, "copy": self.copy, "ok": self.ok, "bin": self.bin, "sha256": self.sha256,
                "error": self.error}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Disc:
        return cls(int(data["volume"]), int(data["copy"]), bool(data.get("ok")), str(data.get("bin", "")),
                   data.get("sha256"), data.get("error"))


@dataclass(frozen=True)
class Problem:
    """An instance the last planning found unfit for the medium, and why."""

    uid: str
    what: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"uid": self.uid, "what": self.what, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Problem:
        return cls(str(data.get("uid", "")), str(data.get("what", "")), str(data.get("reason", "")))


def load_volumes(text: str | None) -> list[Volume]:
    return [Volume.from_json(v) for v in _loads(text, "[]")]


def dump_volumes(volumes: Iterable[Volume]) -> str:
    return json.dumps([v.to_json() for v in volumes])


def load_discs(text: str | None) -> list[Disc]:
    return [Disc.from_json(d) for d in _loads(text, "[]")]


def dump_discs(discs: Iterable[Disc]) -> str:
    return json.dumps([d.to_json() for d in discs])


def load_problems(text: str | None) -> list[Problem]:
    return [Problem.from_json(p) for p in _loads(text, "[]")]


def dump_problems(problems: Iterable[Problem]) -> str:
    return json.dumps([p.to_json() for p in problems])


def load_exclusions(text: str | None) -> dict[str, str]:
    """SOP Instance UID -> reason; the oldest rows hold a plain list of UIDs (no reasons)."""
    data: Any = _loads(text, "{}")
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {str(u): "" for u in data}


def dump_exclusions(exclude: Mapping[str, str]) -> str:
    return json.dumps(dict(exclude))
