"""Enabling a rule never re-burns what is on disc already: a study on a finished (done) job of
anyone, made after its last arrival, is left out, and the dry run says so."""

from __future__ import annotations

from sqlalchemy import update

from publisher.config import DiscRule
from publisher.db.models import DiscJob, utcnow
from publisher.jobs.disc_job import create_job
from publisher.jobs.rules import dry_run
from publisher.jobs.selection import Selection
from tests.support.jobs import CT_A, CT_B, MIN, MR_C, RulesSite, next_second, site# noqa: F401  (site: a fixture)

__all__ = ["site"]


def _state(site: RulesSite, job_id: int, state: str) -> None:
    with site.db.session() as s:
        s.execute(update(DiscJob).where(DiscJob.id == job_id).values(state=state))


def test_a_study_on_a_done_disc_is_skipped_and_listed_by_the_dry_run(site: RulesSite) -> None:
    for study in (CT_A, CT_B, MR_C):
        site.store(study)
    next_second()
    manual = create_job(site.db, Selection(studies=[CT_A.uid]), created_by="alice")
    queued = create_job(site.db, Selection(studies=[CT_B.uid]), created_by="alice")
    _state(site, manual, "done")
    rule = DiscRule("new-rule", enabled=False, quiet_minutes=5)
    with site.db.session() as s:
        result = dry_run(s, rule, utcnow() + 10 * MIN)
    # CT_B's job is only queued: it may still fail, so the rule would burn CT_B.
    assert sorted(g.studies for g in result.due) == sorted([(CT_B.uid,), (MR_C.uid,)])
    assert result.on_disc == {CT_A.uid: manual}
    assert queued not in result.on_disc.values()

    # The worker with the rule enabled burns the two others, not CT_A.
    worker = site.worker(DiscRule("new-rule", enabled=True, quiet_minutes=5), now=utcnow() + 10 * MIN, run_queued=False)
    worker.create_due_jobs()
    made = [j for j in site.jobs() if j.created_by == "rule:new-rule"]
    assert len(made) == 2 and all(CT_A.uid not in j.selection for j in made)


def test_instances_after_the_disc_make_the_study_due_again(site: RulesSite) -> None:
    site.store(CT_A)
    next_second()
    _state(site, create_job(site.db, Selection(studies=[CT_A.uid]), created_by="alice"), "done")
    site.arrived(CT_A, utcnow() + MIN)  # new instances since the disc: it is incomplete
    with site.db.session() as s:
        result = dry_run(s, DiscRule("r", quiet_minutes=5), utcnow() + 10 * MIN)
    assert [g.studies for g in result.due] == [(CT_A.uid,)] and result.on_disc == {}
