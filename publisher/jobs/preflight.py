"""A job's planning: what must hold before anything is mastered, and what the operator chose.

:func:`publisher.media.master` plans first (conversions, capacity: see
:mod:`publisher.media.preflight`) and hands the volume plans to :func:`label_check` before it
writes a volume, so a label that cannot fit stops the job with nothing mastered. A refused
selection's problems are kept on the job (:func:`problems_json`) so the operator can leave those
instances out (:func:`exclusions`, ``publisher jobs --run N --exclude-problems``) and run it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from publisher.jobs.labels import check_labels, summary
from publisher.media.plan import VolumePlan
from publisher.media.preflight import Problem


def label_check(*, comment: str, institution: str, viewer: bool) -> Callable[[list[VolumePlan]], None]:
    """The ``check`` hook of :func:`publisher.media.master`: every planned disc's label fits."""

    def check(plans: list[VolumePlan]) -> None:
        check_labels([summary(p.number, p.count, p.instances) for p in plans],
                     comment=comment, institution=institution, viewer=viewer)

    return check


def problems_json(problems: Iterable[Problem]) -> str:
    return json.dumps([{"uid": p.sop_instance_uid, "what": p.what, "reason": p.reason} for p in problems])


def exclusions(exclude_json: str | None) -> dict[str, str]:
    """A job's excluded instances, SOP Instance UID -> reason."""
    data: Any = json.loads(exclude_json or "{}")
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {str(u): "" for u in data}


def exclude_more(exclude_json: str | None, problems_json_text: str | None, uids: Iterable[str] = (),
                 *, all_problems: bool = False) -> str:
    """The job's exclusions with ``uids`` (and, with ``all_problems``, every instance its last
    planning refused) added, each with the reason planning gave when it gave one."""
    current = exclusions(exclude_json)
    known: Mapping[str, str] = {str(p["uid"]): str(p["reason"]) for p in json.loads(problems_json_text or "[]")}
    for uid in list(uids) + (list(known) if all_problems else []):
        current[uid] = known.get(uid, current.get(uid, ""))
    return json.dumps(current)
