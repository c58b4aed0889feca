"""Unattended burn rules on a real archive: quiet periods, grouping, filters, burning once.

Instances are really stored (publisher.demo.samples -> Archive); where a test needs an arrival in
the past it moves the stored ``received_at`` back, and ``now`` is passed explicitly, so no test
waits for minutes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from publisher.config import ConfigError, DiscRule, load_settings
from publisher.db.models import DiscJob, utcnow
from publisher.demo import samples
from publisher.jobs.disc_job import create_job
from publisher.jobs.rules import due_groups, media_for
from publisher.jobs.selection import Selection
from tests.support.jobs import CT_A, CT_B, MIN, MR_C, RulesSite, next_second, site# noqa: F401  (site: a fixture)


def rule_selection(study: samples.StudySpec) -> Selection:
    return Selection(studies=[study.uid])








def test_a_study_still_receiving_is_not_due_and_is_due_once_quiet(site: RulesSite) -> None:
    site.store(CT_A)
    rule = DiscRule("every-study", enabled=True, quiet_minutes=5)
    latest = site.latest(CT_A)
    assert site.due(rule, latest + 4 * MIN) == []
    assert site.due(rule, latest + 5 * MIN + dt.timedelta(seconds=1)) == [(CT_A.uid,)]
    with site.db.session() as s:
        (group,) = due_groups(s, rule, latest + 6 * MIN)
    assert group.instances == 4 and group.patient_id == "PAT-LAT1" and group.latest == latest
    assert group.previous_job is None and "4 instance(s)" in group.reason(rule)

    # Quiet is measured over the whole study: one more series arriving restarts the wait.
    now = utcnow()
    site.arrived(CT_A, now - 10 * MIN)
    assert site.due(rule, now) == [(CT_A.uid,)]
    site.store(samples.StudySpec(CT_A.patient, CT_A.key, series=(samples.SeriesSpec("ct", 1, 7, "Late", 32, 32),)))
    assert site.due(rule, utcnow() + MIN) == []
    assert site.due(rule, utcnow() + 6 * MIN) == [(CT_A.uid,)]


def test_grouping_by_patient_puts_two_studies_in_one_job(site: RulesSite) -> None:
    for study in (CT_A, CT_B, MR_C):
        site.store(study)
    now = utcnow()
    site.arrived(CT_A, now - 30 * MIN)
    site.arrived(CT_B, now - 20 * MIN)
    site.arrived(MR_C, now - 10 * MIN)
    by_study = DiscRule("per-study", enabled=True, quiet_minutes=5)
    by_patient = DiscRule("per-patient", enabled=True, group_by="patient", quiet_minutes=5)
    assert site.due(by_study, now) == [(CT_A.uid,), (CT_B.uid,), (MR_C.uid,)]
    assert site.due(by_patient, now) == [(CT_A.uid, CT_B.uid), (MR_C.uid,)]

    # A patient's group waits until all of the patient's studies are quiet.
    site.arrived(CT_B, now - 2 * MIN)
    assert site.due(by_patient, now) == [(MR_C.uid,)]
    assert site.due(by_patient, now + 3 * MIN) == [(MR_C.uid,), (CT_A.uid, CT_B.uid)]

    # The worker makes one job for the patient, naming both studies, and one for the other.
    created = site.worker(by_patient, now=now + 3 * MIN).create_due_jobs()
    jobs = site.jobs()
    assert [j.id for j in jobs] == created and len(jobs) == 2
    assert all(j.created_by == "rule:per-patient" and j.state == "queued" and j.media == "cd" for j in jobs)
    assert sorted(json.loads(jobs[1].selection)["studies"]) == sorted([CT_A.uid, CT_B.uid])
    assert json.loads(jobs[0].selection)["studies"] == [MR_C.uid]


def test_filters_exclude_other_modalities_and_calling_aes(site: RulesSite) -> None:
    site.store(CT_A, "CT1", only="ct")
    site.store(CT_A, "RIS", only="sr")  # the report of the CT study, from another sender
    site.store(MR_C, "MR1")
    now = utcnow() + 10 * MIN

    def due(**filters: tuple[str, ...]) -> list[tuple[str, ...]]:
        return site.due(DiscRule("f", enabled=True, quiet_minutes=5, **filters), now)  # type: ignore[arg-type]

    assert sorted(due()) == sorted([(CT_A.uid,), (MR_C.uid,)])
    assert due(modalities=("CT",)) == [(CT_A.uid,)]
    assert due(modalities=("SR",)) == [(CT_A.uid,)]  # a study qualifies by any of its series
    assert due(calling_aes=("MR1",)) == [(MR_C.uid,)]
    assert due(calling_aes=("MR2",)) == []
    assert due(modalities=("CT",), calling_aes=("MR1",)) == []  # both filters hold on one instance
    assert due(modalities=("CT",), calling_aes=("RIS",)) == []
    assert due(modalities=("MR", "US"), calling_aes=("MR1", "US1")) == [(MR_C.uid,)]
    with site.db.session() as s:
        (group,) = due_groups(s, DiscRule("f", enabled=True, modalities=("CT",)), now)
    assert group.instances == 4  # the whole study is burned, its report included


def test_a_burned_group_is_due_again_only_after_new_instances_and_a_new_quiet_period(site: RulesSite) -> None:
    site.store(CT_A, only="ct")
    rule = DiscRule("once", enabled=True, quiet_minutes=5)
    other = DiscRule("other", enabled=True, quiet_minutes=5)
    now = utcnow()
    site.arrived(CT_A, now - 10 * MIN)
    (first,) = site.worker(rule, now=now).create_due_jobs()
    assert site.due(rule, now) == [] and site.due(rule, now + 60 * MIN) == []
    assert site.due(other, now) == [(CT_A.uid,)]  # another rule's jobs do not count for this one
    assert site.worker(rule, now=now).create_due_jobs() == []  # burned once, not twice

    # A person's job of the study does not stand for the rule's (the rule burns its own disc).
    with site.db.session() as s:
        job = s.get(DiscJob, first)
        assert job is not None
        job.state = "cancelled"  # whatever became of the rule's job, it covers the study
    create_job(site.db, rule_selection(CT_A), created_by="alice")
    assert site.due(rule, now) == []

    next_second()
    site.store(CT_A, only="sr")  # the report arrives after the disc was made
    assert site.due(rule, utcnow() + MIN) == []  # not quiet yet
    later = utcnow() + 6 * MIN
    with site.db.session() as s:
        (again,) = due_groups(s, rule, later)
    assert again.studies == (CT_A.uid,) and again.instances == 4 and again.previous_job == first
    assert f"after job {first}" in again.reason(rule)
    (second,) = site.worker(rule, now=later).create_due_jobs()
    assert second != first and site.due(rule, later) == []
    jobs = {j.id: j for j in site.jobs()}
    assert jobs[second].created_by == "rule:once" and json.loads(jobs[second].selection)["studies"] == [CT_A.uid]


def test_enabling_a_rule_does_not_burn_the_backlog(site: RulesSite) -> None:
    site.store(CT_A)
    site.store(MR_C)
    now = utcnow()
    site.arrived(CT_A, now - 30 * dt.timedelta(hours=1))
    site.arrived(MR_C, now - 20 * MIN)
    assert site.due(DiscRule("r", enabled=True), now) == [(MR_C.uid,)]
    assert site.due(DiscRule("r", enabled=True, lookback_hours=48), now) == [(CT_A.uid,), (MR_C.uid,)]


def test_auto_media_is_the_smallest_the_robot_loads_that_holds_the_group(tmp_path: Path, sqlite_url: str) -> None:
    site = RulesSite(tmp_path, sqlite_url)
    site.store(CT_A)
    auto = DiscRule("auto", enabled=True)
    with site.db.session() as s:
        sel = rule_selection(CT_A)
        assert media_for(s, auto, sel, site.archive.root) == "cd"
        assert media_for(s, auto, sel, site.archive.root, loadable=("dvd", "bd")) == "dvd"
        assert media_for(s, DiscRule("bd", media="bd"), sel, site.archive.root) == "bd"
    site.db.dispose()


def test_rules_and_jobs_are_read_from_the_configuration(tmp_path: Path) -> None:
    cfg = tmp_path / "site.toml"
    cfg.write_text("""
[jobs]
tick_seconds = 5
run_queued = false

[[rules]]
name = "ct-per-patient"
enabled = true
group_by = "patient"
quiet_minutes = 10
modalities = ["ct", " MR "]
calling_aes = ["CT1"]
media = "dvd"
copies = 2
comment = "Für den Patienten"

[[rules]]
name = "everything"
""", encoding="utf-8")
    s = load_settings(cfg, environ={})
    assert s.jobs.tick_seconds == 5.0 and not s.jobs.run_queued and s.jobs.worker
    ct, everything = s.rules
    assert ct == DiscRule("ct-per-patient", True, "patient", 10.0, ("CT1",), ("CT", "MR"), "dvd", 2, "Für den Patienten")
    assert everything == DiscRule("everything") and not everything.enabled and everything.media == "auto"
    assert load_settings(cfg, environ={"PUBLISHER_JOBS_WORKER": "false"}).jobs.worker is False
    assert load_settings(None, environ={}).rules == ()  # the packaged defaults enable nothing

    for body, message in (
        ('[[rules]]\nname = "x"\ngroup_by = "series"', "group_by"),
        ('[[rules]]\nname = "x"\nmedia = "floppy"', "media"),
        ('[[rules]]\nname = "x"\nquiet_minutes = 0', "quiet_minutes"),
        ('[[rules]]\nname = "x"\ncopies = 0', "copies"),
        ('[[rules]]\nname = "x"\nmodalities = "CT"', "modalities is a list"),
        ('[[rules]]\nname = "x"\nquiet = 5', "rules.x.quiet"),
        ('[[rules]]\nenabled = true', "needs a name"),
        ('[[rules]]\nname = "x"\n[[rules]]\nname = "x"', "two rules are named 'x'"),
        (f'[[rules]]\nname = "{"n" * 60}"', "at most 59"),
        ("[jobs]\ntick_seconds = 0", "tick_seconds"),
    ):
        cfg.write_text(body, encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_settings(cfg, environ={})
