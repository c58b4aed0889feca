"""Planning-time checks: everything that can fail for a selection fails before any volume is made.

A selection is refused as a whole, before a single volume is written, when an instance cannot go
on the chosen medium: video the profile cannot hold, pixel data nothing here decodes (found by
decoding it: the conversions run at planning, so their sizes are what the plan counts), or an
instance larger than one volume. :class:`SelectionRefused` names every such instance and why;
the operator may leave them out (``exclude``: README.TXT and INDEX.HTM then list them, IHE RAD
TF-3 4.47 asks the disc to say what it holds) or choose another medium.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from publisher.media.model import MediaError, MediaInstance, MediaType
from publisher.media.plan import FOLDER_OVERHEAD, instance_cost, usable_capacity
from publisher.media.profile import MediaProfile
from publisher.media.transcode import TranscodeError, conversion, convert, refusal
from publisher.progress import Progress

#: How many problems a refusal's message spells out (all are in :attr:`SelectionRefused.problems`).
SHOWN = 10


@dataclass(frozen=True)
class Problem:
    """One instance that cannot go on the medium, and why."""

    sop_instance_uid: str
    what: str  #: patient, study, series and instance, for people
    reason: str

    def line(self) -> str:
        return f"{self.what} (SOP Instance UID {self.sop_instance_uid}): {self.reason}"


class SelectionRefused(MediaError):
    """Instances of the selection cannot go on the chosen medium; nothing was written."""

    def __init__(self, problems: Sequence[Problem], medium: str) -> None:
        self.problems = list(problems)
        shown = "; ".join(p.line() for p in self.problems[:SHOWN])
        more = f"; and {len(self.problems) - SHOWN} more" if len(self.problems) > SHOWN else ""
        super().__init__(f"{len(self.problems)} instance(s) cannot go on {medium}: {shown}{more}. Leave them out "
                         "(exclude their SOP Instance UIDs) or choose another medium or profile")


def describe(inst: MediaInstance) -> str:
    """``inst`` as a person finds it: patient, study, series, instance."""
    study = " ".join(x for x in (inst.study_date, inst.study_description) if x) or inst.study_instance_uid
    series = f"series {inst.series_number if inst.series_number is not None else '-'} {inst.modality}".rstrip()
    number = inst.instance_number if inst.instance_number is not None else "-"
    return f"patient {inst.patient_name or '-'} (ID {inst.patient_id or '-'}), study {study}, {series}, instance {number}"


def problem(inst: MediaInstance, reason: str) -> Problem:
    return Problem(inst.sop_instance_uid, describe(inst), reason)


def leave_out(instances: Sequence[MediaInstance], exclude: Mapping[str, str]) -> tuple[list[MediaInstance], list[Problem]]:
    """``instances`` without the excluded ones, and those left out with the reason given for each
    (``exclude``: SOP Instance UID -> reason, empty for "the operator's choice")."""
    kept, gone = [], []
    for inst in instances:
        if inst.sop_instance_uid in exclude:
            gone.append(problem(inst, exclude[inst.sop_instance_uid] or "left out by the operator"))
        else:
            kept.append(inst)
    return kept, gone


def too_large(inst: MediaInstance, media_type: MediaType, usable: int) -> str:
    """Why ``inst`` fits on no volume of ``media_type`` (empty when it fits)."""
    if instance_cost(inst, media_type.uses_udf) + 3 * FOLDER_OVERHEAD <= usable:
        return ""
    return f"{inst.size} bytes, more than one {media_type.value} volume holds ({usable} bytes)"


def prepare(
    instances: Sequence[MediaInstance],
    media_type: MediaType,
    profile: MediaProfile,
    staging: Path,
    *,
    compress: bool = False,
    capacity: int | None = None,
    viewer_size_estimate: int = 0,
    progress: Progress | None = None,
) -> list[MediaInstance]:
    """The instances as they go on the medium: converted into ``staging`` where ``profile``
    needs it (or compressed losslessly, with ``compress``). Raises :class:`SelectionRefused`
    naming every instance that cannot go on the medium, after trying them all."""
    usable = usable_capacity(media_type, capacity, viewer_size_estimate=viewer_size_estimate)
    medium = f"{media_type.value} ({profile.name})"
    problems: list[Problem] = []
    out: list[MediaInstance] = []
    plans = [conversion(i, profile, compress=compress) for i in instances]
    todo = sum(1 for p in plans if p.needed)
    done = 0
    for inst, conv in zip(instances, plans):
        why = refusal(inst, profile)
        if why:
            problems.append(problem(inst, why))
            continue
        if conv.needed:
            try:
                inst = convert(inst, conv, staging / f"{inst.sop_instance_uid}.dcm")
            except TranscodeError as exc:
                problems.append(problem(inst, str(exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - a file a codec chokes on is this instance's problem
                problems.append(problem(inst, f"cannot convert it: {type(exc).__name__}: {exc}"))
                continue
            done += 1
            if progress is not None:
                progress(0, 0, f"converted {done}/{todo} for {profile.name}")
        why = too_large(inst, media_type, usable)
        if why:
            problems.append(problem(inst, why))
            continue
        out.append(inst)
    if problems:
        raise SelectionRefused(problems, medium)
    return out
