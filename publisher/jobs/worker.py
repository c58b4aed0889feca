"""The job worker inside ``publisher serve``: unattended rules and the queue, on one robot.

An APScheduler 3 :class:`BackgroundScheduler` calls :meth:`JobWorker.tick` every
``tick_seconds``. A tick evaluates the enabled rules (:func:`publisher.jobs.rules.due_groups`)
and queues a job per due group, logging why; then, when ``run_queued`` is on, it wakes the
runner, which takes queued (and mastered) jobs oldest first. Ticks go on while discs burn, so
rules keep queueing jobs on time.

The runner is a pipeline, so a robot of D drives is kept busy (docs/performance.md):

- the runner's own thread masters jobs one at a time (:func:`~publisher.jobs.disc_job.master_job`),
  the next one while earlier ones burn, at most ``master_ahead`` (default D) jobs mastered
  or being mastered that are not on the robot yet (their images are what waits on disk);
- a pool of ``burn_slots`` threads (default D + 1 when the driver shares its robot between
  requests, ``Robot.concurrent_burns``; 1 otherwise) burns mastered jobs oldest first
  (:func:`~publisher.jobs.disc_job.burn_job`); inside the robot each disc takes the next free
  drive, so two 1-copy jobs burn side by side, and a job printing its last label leaves its
  drive to the next job.

``parallel=False`` keeps the former runner (one job at a time, master then burn), for
comparison and for setups that want it.

Every state lives in the database (docs/architecture.md, section 2); the transitions are those of
:mod:`publisher.jobs.state`, each job's moving under its row lock. Stopping lets the running
steps finish (a mastering job is mastered, burning jobs end) and starts no other: a job
mastered but not yet on the robot stays ``mastered`` and is burned after the next start. A
killed process leaves its jobs where :func:`publisher.jobs.disc_job.recover` resumes them
(``mastering`` -> queued, ``burning`` -> failed: never burned twice). A job is ``burning`` from
the moment it is handed to the robot, so one still waiting there for a drive when the process
is killed is failed too, although none of its discs was started: the robot's ledger / output
bin tells, and a person resubmits it. A job that fails is logged with its reason and the worker
goes on with the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor as StepPool
from dataclasses import dataclass

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from publisher.db.models import DiscJob, utcnow
from publisher import audit
from publisher.jobs.disc_job import ROBOT_MEDIA, JobContext, burn_job, create_job, master_job, run_job
from publisher.jobs.rules import AUTO_MEDIA, Group, Rule, creator, due_groups, media_for
from publisher.jobs.selection import EmptySelection
from publisher.jobs.state import InvalidTransition, JobState
from publisher.media import MediaType

log = logging.getLogger(__name__)

#: States the runner takes a job from (a mastered job was left between its two steps).
RUNNABLE = (JobState.QUEUED.value, JobState.MASTERED.value)


@dataclass(frozen=True)
class StepTime:
    """When the worker ran a step of a job (``time.monotonic()`` seconds, the clock the
    robot simulators record their moves with)."""

    job_id: int
    step: str  # "master", "burn", or "job" (both, by the one-at-a-time runner)
    start: float
    end: float
    state: JobState | None  # where the job ended, None if it could not be run


class JobWorker:
    """Evaluates ``rules`` and runs the queue on ``context``'s robot, from a background scheduler.

    ``now`` is the clock rules are evaluated with (naive UTC); :meth:`tick`,
    :meth:`create_due_jobs` and :meth:`run_queue` can also be called directly.
    ``burn_slots`` / ``master_ahead`` bound the pipeline (module doc; None: from the robot's
    drives); ``parallel=False`` runs one job at a time.
    """

    def __init__(self, context: JobContext, rules: Sequence[Rule], *, tick_seconds: float = 30.0,
                 run_queued: bool = True, now: Callable[[], dt.datetime] = utcnow, parallel: bool = True,
                 burn_slots: int | None = None, master_ahead: int | None = None) -> None:
        if tick_seconds <= 0:
            raise ValueError(f"tick_seconds must be more than 0, not {tick_seconds}")
        if burn_slots is not None and burn_slots < 1:
            raise ValueError(f"burn_slots must be at least 1, not {burn_slots}")
        if master_ahead is not None and master_ahead < 1:
            raise ValueError(f"master_ahead must be at least 1, not {master_ahead}")
        self.context = context
        self.rules = tuple(r for r in rules if r.enabled)
        self.tick_seconds = tick_seconds
        self.run_queued = run_queued
        self.now = now
        self.parallel = parallel
        self._burn_slots = burn_slots
        self._master_ahead = master_ahead
        self._scheduler: BackgroundScheduler | None = None
        self._lock = threading.Lock()  # guards the flags below and waking the runner
        self._stopping = False
        self._runner_busy = False
        self._again = False
        self._wakeup = threading.Event()  # a new job may be runnable, or a burn slot came free
        self._current: set[int] = set()
        self._ticks = 0
        #: the latest steps run, oldest first (for the web UI's and the benchmark's figures)
        self.steps: deque[StepTime] = deque(maxlen=1000)

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
        """The oldest job the runner is on (mastering or burning), if any."""
        jobs = self.current_jobs
        return jobs[0] if jobs else None

    @property
    def current_jobs(self) -> tuple[int, ...]:
        """Every job being mastered or burned now, oldest first."""
        with self._lock:
            return tuple(sorted(self._current))

    @property
    def drives(self) -> int:
        """Drives of the robot (1 if it cannot say)."""
        try:
            return max(1, int(self.context.robot.capabilities().drives))
        except Exception:
            return 1

    @property
    def burn_slots(self) -> int:
        """How many jobs may be on the robot at once."""
        if self._burn_slots is not None:
            return self._burn_slots
        shares = bool(getattr(self.context.robot, "concurrent_burns", False))
        return self.drives + 1 if shares and self.parallel else 1

    @property
    def master_ahead(self) -> int:
        """How many jobs may be mastered (or mastering) and not on the robot yet."""
        return self._master_ahead if self._master_ahead is not None else self.drives

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
        if self.run_queued:
            log.info("job worker: %s", f"up to {self.burn_slots} job(s) on the robot, {self.master_ahead} mastered ahead"
                     if self.parallel else "one job at a time")

    def stop(self, wait: bool = True) -> None:
        """Start no new job; with ``wait``, return once the running job finished its step.

        Without ``wait`` a job under way is left to the process' end; if the process dies, the
        job is where :func:`~publisher.jobs.disc_job.recover` resumes it."""
        with self._lock:  # no tick wakes the runner once the scheduler shuts down
            self._stopping = True
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        if self.current_jobs:
            log.info("job worker stopping: %s disc job(s) %s", "waiting for" if wait else "leaving",
                     ", ".join(map(str, self.current_jobs)))
        self._wakeup.set()
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
                                created_by=creator(rule), compress=rule.compress, robot=rule.robot)
        except EmptySelection as exc:  # the studies were deleted since the evaluation
            log.warning("rule %r: %s not queued: %s", rule.name, group.describe(), exc)
            return None
        why = group.reason(rule)
        log.info("rule %r queued disc job %d (%s x%d) for %s: %s", rule.name, job_id, media, rule.copies,
                 group.describe(), why)
        with ctx.db.session() as s:
            audit.record(s, creator(rule), "job-created", f"job {job_id}",
                         {"rule": rule.name, "studies": list(group.studies), "patient": group.patient_id,
                          "media": media.value, "copies": rule.copies, "why": why})
        return job_id

    def _loadable(self) -> tuple[MediaType, ...]:
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
            self._wakeup.set()
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
        """Run queued and mastered jobs, oldest first, until none is left or the worker stops;
        each job is tried once per call. Returns (job, state it ended in), in the order the
        jobs were taken."""
        if not self.parallel:
            return self._one_at_a_time()
        ran: dict[int, JobState] = {}
        taken: list[int] = []
        tried: set[int] = set()
        ahead = threading.BoundedSemaphore(self.master_ahead)  # mastered, not on the robot yet
        burning: dict[int, Future[JobState | None]] = {}
        with StepPool(self.burn_slots, thread_name_prefix="burn") as pool:
            while not self._stopping:
                self._wakeup.clear()
                found = self._next(tried)
                if found is None:
                    if all(f.done() for f in burning.values()):
                        break
                    self._wakeup.wait(0.5)  # a tick queued a job, or a burn ended
                    continue
                if not self._room(ahead):
                    break
                job_id, found_in = found
                tried.add(job_id)
                taken.append(job_id)
                state = self._step(job_id, master_job, "master") if found_in is JobState.QUEUED else found_in
                if state is JobState.MASTERED:
                    burning[job_id] = pool.submit(self._burn, job_id, ahead)
                else:
                    ahead.release()
                    if state is not None:
                        ran[job_id] = state
        for job_id, future in burning.items():
            result = future.result()
            if result is not None:
                ran[job_id] = result
        return [(j, ran[j]) for j in taken if j in ran]

    def _room(self, ahead: threading.BoundedSemaphore) -> bool:
        """Wait until one more job may be mastered ahead; False if the worker stops meanwhile."""
        while not ahead.acquire(timeout=0.2):
            if self._stopping:
                return False
        if self._stopping:
            ahead.release()
            return False
        return True

    def _burn(self, job_id: int, ahead: threading.BoundedSemaphore) -> JobState | None:
        """A burn slot's work: the job leaves the mastered-ahead count as it goes on the robot."""
        ahead.release()
        try:
            if self._stopping:  # start no new step: the job stays mastered for the next start
                return None
            return self._step(job_id, burn_job, "burn")
        finally:
            self._wakeup.set()

    def _one_at_a_time(self) -> list[tuple[int, JobState]]:
        """The former runner: each job mastered then burned before the next one is taken."""
        ran: list[tuple[int, JobState]] = []
        tried: set[int] = set()
        while not self._stopping:
            found = self._next(tried)
            if found is None:
                break
            tried.add(found[0])
            state = self._step(found[0], run_job, "job")
            if state is not None:
                ran.append((found[0], state))
        return ran

    def _next(self, tried: set[int]) -> tuple[int, JobState] | None:
        query = (select(DiscJob.id, DiscJob.state).where(DiscJob.state.in_(RUNNABLE))
                 .order_by(DiscJob.id).limit(1))
        if tried:
            query = query.where(DiscJob.id.not_in(tried))
        with self.context.db.session() as s:
            found = s.execute(query).first()
        return (int(found[0]), JobState(found[1])) if found is not None else None

    def _step(self, job_id: int, step: Callable[[JobContext, int], JobState], name: str) -> JobState | None:
        """Run one step (or the whole job) of ``job_id``; None if it could not be run."""
        with self._lock:
            self._current.add(job_id)
        start = time.monotonic()
        state: JobState | None = None
        try:
            state = step(self.context, job_id)
        except InvalidTransition:  # another runner (a person's CLI, another service) took it
            log.info("disc job %d is being run elsewhere", job_id)
            return None
        except Exception:  # e.g. the database went away mid-job: log it and go on with the next
            log.exception("disc job %d: the worker could not run it", job_id)
            return None
        finally:
            self.steps.append(StepTime(job_id, name, start, time.monotonic(), state))
            with self._lock:
                self._current.discard(job_id)
        if state is JobState.FAILED:
            with self.context.db.session() as s:
                job = s.get(DiscJob, job_id)
                error = job.error if job is not None else ""
            log.warning("disc job %d failed: %s", job_id, error)
        else:
            log.info("disc job %d: %s", job_id, state.value)
        return state
