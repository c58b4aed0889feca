"""A job's planning: what must hold before anything is mastered, and what the operator chose.

:func:`publisher.media.master` plans first (conversions, capacity: see
:mod:`publisher.media.preflight`) and hands the volume plans to :func:`label_check` before it
writes a volume, so a label that cannot fit stops the job with nothing mastered. A refused
selection's problems are kept on the job (:func:`problems_json`) so the operator can leave those
instances out (:func:`exclusions`, ``publisher jobs --run N --exclude-problems``) and run it again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from publisher.jobs.labels import check_labels, summary
from publisher.jobs.records import Problem, dump_exclusions, dump_problems, load_exclusions, load_problems
from publisher.media.plan import VolumePlan
from publisher.media.preflight import Problem as MediaProblem


def label_check(*, comment: str, institution: str, viewer: bool) -> Callable[[list[VolumePlan]], None]:
    """The ``check`` hook of :func:`publisher.media.master`: every planned disc's label fits."""

    def check(plans: list[VolumePlan]) -> None:
        check_labels([summary(p.number, p.count, p.instances) for p in plans],
                     comment=comment, institution=institution, viewer=viewer)

    return check


def problems_json(problems: Iterable[MediaProblem]) -> str:
    return dump_problems(Problem(p.sop_instance_uid, p.what, p.reason) for p in problems)


def exclusions(exclude_json: str | None) -> dict[str, str]:
    """A job's excluded instances, SOP Instance UID -> reason."""
    return load_exclusions(exclude_json)


def exclude_more(exclude_json: str | None, problems_json_text: str | None, uids: Iterable[str] = (),
                 *, all_problems: bool = False) -> str:
    """The job's exclusions with ``uids`` (and, with ``all_problems``, every instance its last
    planning refused) added, each with the reason planning gave when it gave one."""
    current = load_exclusions(exclude_json)
    known: Mapping[str, str] = {p.uid: p.reason for p in load_problems(problems_json_text)}
    for uid in list(uids) + (list(known) if all_problems else []):
        current[uid] = known.get(uid, current.get(uid, ""))
    return dump_exclusions(current)
