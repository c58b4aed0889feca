"""The life of a disc job, as a table of allowed transitions.

    queued -> mastering -> mastered -> burning -> done
    mastering / burning -> failed          (a typed reason is kept in ``error``)
    burning -> cancelled                   (cancelled at the robot, or through the robot driver)
    failed -> queued                       (a person resubmits)
    queued / mastered / failed -> cancelled

After a restart, a job found in ``mastering`` goes back to ``queued`` (its images are rebuilt
from scratch); a job found in ``burning`` goes to ``failed``: the robot may have finished some
discs, and nothing is burned twice unless a person asks for it (docs/architecture.md, section 7).
"""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    QUEUED = "queued"
    MASTERING = "mastering"
    MASTERED = "mastered"
    BURNING = "burning"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.MASTERING, JobState.CANCELLED}),
    JobState.MASTERING: frozenset({JobState.MASTERED, JobState.FAILED, JobState.QUEUED}),
    JobState.MASTERED: frozenset({JobState.BURNING, JobState.CANCELLED, JobState.DONE}),
    JobState.BURNING: frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED}),
    JobState.DONE: frozenset(),
    JobState.FAILED: frozenset({JobState.QUEUED, JobState.CANCELLED}),
    JobState.CANCELLED: frozenset(),
}

#: Where an interrupted job goes when the service starts again.
ON_RESTART: dict[JobState, JobState] = {
    JobState.MASTERING: JobState.QUEUED,
    JobState.BURNING: JobState.FAILED,
}


class InvalidTransition(ValueError):
    """A job was asked to move where its state machine does not go."""


def check(current: str, target: JobState) -> None:
    state = JobState(current)
    if target not in TRANSITIONS[state]:
        raise InvalidTransition(f"a {state.value} job cannot become {target.value}")
