"""The job worker inside ``publisher serve``: unattended rules and the queue, on one robot.

An APScheduler 3 :class:`BackgroundScheduler` calls :meth:`JobWorker.tick` every
``tick_seconds``. A tick evaluates the enabled rules (:func:`publisher.jobs.rules.due_groups`)
and queues a job per due group, logging why; then, when ``run_queued`` is on, it wakes the
runner, which takes queued (and mastered) jobs one at a time, oldest first, through
:func:`publisher.jobs.disc_job.run_job` with the service's :class:`JobContext`. Ticks go on
while a disc burns, so rules keep queueing jobs on time.

Every state lives in the database (DESIGN section 2): stopping lets the running job finish its
step and starts no other; a killed process leaves the job where
:func:`publisher.jobs.disc_job.recover` resumes it at the next start. A job that fails is
logged with its reason and the worker goes on with the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from publisher.db.models import DiscJob, utcnow
from publisher.jobs import audit
from publisher.jobs.disc_job import ROBOT_MEDIA, JobContext, create_job, run_job
from publisher.jobs.rules import AUTO_MEDIA, Group, Rule, creator, due_groups, media_for
from publisher.jobs.selection import EmptySelection
from publisher.jobs.state import InvalidTransition, JobState

log = logging.getLogger(__name__)

#: States the runner takes a job from (a mastered job was left between its two steps).
RUNNABLE = (JobState.QUEUED.value, JobState.MASTERED.value)


class JobWorker:
    """Evaluates ``rules`` and runs the queue on ``context``'s robot, from a background scheduler.

    ``now`` is the clock rules are evaluated with (naive UTC); :meth:`tick`,
    :meth:`create_due_jobs` and :meth:`run_queue` can also be called directly.
    """

    def __init__(self, context: JobContext, rules: Sequence[Rule], *, tick_seconds: float = 30.0,
                 run_queued: bool = True, now: Callable[[], dt.datetime] = utcnow) -> None:
        if tick_seconds <= 0:
            raise ValueError(f"tick_seconds must be more than 0, not {tick_seconds}")
        self.context = context
        self.rules = tuple(r for r in rules if r.enabled)
        self.tick_seconds = tick_seconds
        self.run_queued = run_queued
        self.now = now
        self._scheduler: BackgroundScheduler | None = None
        self._lock = threading.Lock()  # guards the flags below and waking the runner
        self._stopping = False
        self._runner_busy = False
        self._again = False
        self._current: int | None = None
        self._ticks = 0

    # -- life --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._scheduler is not None and not self._stopping

    @property
    def ticks(self) -> int:
        """How many ticks have finished (rules evaluated, runner woken)."""
        return self._ticks

    @property
    def current_job(self) -> int | None:
        """The job the runner is on, if any."""
        return self._current

    def start(self) -> None:
        """Tick now and every ``tick_seconds`` until :meth:`stop`."""
        if self._scheduler is not None:
            raise RuntimeError("the job worker is already started")
        self._stopping = False
        scheduler = BackgroundScheduler(
            timezone=dt.timezone.utc,
            executors={"default": ThreadPoolExecutor(2)},  # the tick, and the runner beside it
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        scheduler.add_job(self.tick, "interval", seconds=self.tick_seconds, id="tick",
                          next_run_time=dt.datetime.now(dt.timezone.utc))
        scheduler.start()
        self._scheduler = scheduler
        log.info("job worker started: tick every %g s, %d rule(s) enabled%s", self.tick_seconds, len(self.rules),
                 ", runs queued jobs" if self.run_queued else "")

    def stop(self, wait: bool = True) -> None:
        """Start no new job; with ``wait``, return once the running job finished its step.

        Without ``wait`` a job under way is left to the process' end; if the process dies, the
        job is where :func:`~publisher.jobs.disc_job.recover` resumes it."""
        with self._lock:  # no tick wakes the runner once the scheduler shuts down
            self._stopping = True
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        if self._current is not None:
            log.info("job worker stopping: %s disc job %d", "waiting for" if wait else "leaving", self._current)
        scheduler.shutdown(wait=wait)
        log.info("job worker stopped")

    # -- one tick ----------------------------------------------------------------------------

    def tick(self) -> list[int]:
        """Queue jobs for due groups, then wake the runner; returns the new jobs' ids."""
        created = self.create_due_jobs()
        if self.run_queued:
            self._wake_runner()
        self._ticks += 1
        return created

    def create_due_jobs(self) -> list[int]:
        """One job per due group of every enabled rule; a rule that fails is logged and skipped."""
        created: list[int] = []
        for rule in self.rules:
            if self._stopping:
                break
            try:
                created += self._apply(rule)
            except Exception:  # a broken rule (or database hiccup) must not stop the others
                log.exception("rule %r could not be evaluated", rule.name)
        return created

    def _apply(self, rule: Rule) -> list[int]:
        ctx = self.context
        with ctx.db.session() as s:
            groups = due_groups(s, rule, self.now())
        created = []
        for group in groups:
            job_id = self._create(rule, group)
            if job_id is not None:
                created.append(job_id)
        return created

    def _create(self, rule: Rule, group: Group) -> int | None:
        ctx = self.context
        try:
            with ctx.db.session() as s:
                media = media_for(s, rule, group.selection, ctx.archive_root, viewer=ctx.viewer,
                                  loadable=self._loadable())
            job_id = create_job(ctx.db, group.selection, media=media, copies=rule.copies, comment=rule.comment,
                                created_by=creator(rule))
        except EmptySelection as exc:  # the studies were deleted since the evaluation
            log.warning("rule %r: %s not queued: %s", rule.name, group.describe(), exc)
            return None
        why = group.reason(rule)
        log.info("rule %r queued disc job %d (%s x%d) for %s: %s", rule.name, job_id, media, rule.copies,
                 group.describe(), why)
        with ctx.db.session() as s:
            audit.record(s, creator(rule), "job-created", f"job {job_id}",
                         {"rule": rule.name, "studies": list(group.studies), "patient": group.patient_id,
                          "media": media, "copies": rule.copies, "why": why})
        return job_id

    def _loadable(self) -> tuple[str, ...]:
        """The :data:`AUTO_MEDIA` the robot says it can load (all of them if it cannot say)."""
        try:
            types = set(self.context.robot.capabilities().media_types)
        except Exception:
            return AUTO_MEDIA
        return tuple(m for m in AUTO_MEDIA if ROBOT_MEDIA[m] in types) or AUTO_MEDIA

    # -- the runner --------------------------------------------------------------------------

    def _wake_runner(self) -> None:
        with self._lock:
            if self._stopping or self._scheduler is None:
                return
            if self._runner_busy:
                self._again = True  # it looks at the queue once more before it rests
                return
            self._runner_busy = True
            self._scheduler.add_job(self._runner, id="runner", replace_existing=True)

    def _runner(self) -> None:
        try:
            while True:
                self.run_queue()
                with self._lock:
                    if not self._again or self._stopping:
                        self._runner_busy = False
                        return
                    self._again = False
        except BaseException:
            with self._lock:
                self._runner_busy = False
            raise

    def run_queue(self) -> list[tuple[int, JobState]]:
        """Run queued and mastered jobs one at a time, oldest first, until none is left or the
        worker stops; each job is tried once per call. Returns (job, state it ended in)."""
        ran: list[tuple[int, JobState]] = []
        tried: set[int] = set()
        while not self._stopping:
            job_id = self._next(tried)
            if job_id is None:
                break
            tried.add(job_id)
            state = self._run(job_id)
            if state is not None:
                ran.append((job_id, state))
        return ran

    def _next(self, tried: set[int]) -> int | None:
        query = select(DiscJob.id).where(DiscJob.state.in_(RUNNABLE)).order_by(DiscJob.id).limit(1)
        if tried:
            query = query.where(DiscJob.id.not_in(tried))
        with self.context.db.session() as s:
            found = s.scalar(query)
        return int(found) if found is not None else None

    def _run(self, job_id: int) -> JobState | None:
        self._current = job_id
        try:
            state = run_job(self.context, job_id)
        except InvalidTransition:  # another runner (a person's CLI, another service) took it
            log.info("disc job %d is being run elsewhere", job_id)
            return None
        except Exception:  # e.g. the database went away mid-job: log it and go on with the next
            log.exception("disc job %d: the worker could not run it", job_id)
            return None
        finally:
            self._current = None
        if state is JobState.FAILED:
            with self.context.db.session() as s:
                job = s.get(DiscJob, job_id)
                error = job.error if job is not None else ""
            log.warning("disc job %d failed: %s", job_id, error)
        else:
            log.info("disc job %d: %s", job_id, state.value)
        return state
