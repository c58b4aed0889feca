"""Acceptance 5 (issue 15), on SQLite, PostgreSQL and MariaDB: in buffer mode an instance goes
only once it is burned (where a rule takes its study) and forwarded (its forward_item sent to a
real DCMTK storescp) and its grace period passed; before that a purge run removes nothing of it.
A low-water purge takes the oldest instances but never what a queued disc job or a pending
forward still needs; every purge is audited and the index keeps the purged instances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

import robot_drivers
from publisher.config import DicomSettings, DiscRule, RemoteAE
from publisher.config.retention import RetentionSettings
from publisher.config.routing import ForwardSettings, Route
from publisher.db.models import AuditEvent, Instance, PurgedInstance, Series, Study, utcnow
from publisher.jobs.disc_job import JobContext, create_job, run_job
from publisher.jobs.records import Selection
from publisher.jobs.state import JobState
from publisher.retention.purge import Retention
from publisher.routing import forwarder, queue
from tests.support.jobs import CT_A, CT_B, MR_C, RulesSite
from tests.support.peers import storescp
from tests.support.tools import require_tool

pytestmark = [pytest.mark.interop]

CT_RULE = DiscRule("ct-discs", enabled=True, modalities=("CT",), quiet_minutes=0)
ROUTE = Route("ct-to-pacs", when=("modality = CT",), forward_to=("DEST",))
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def site(tmp_path: Path, db_url: str) -> Iterator[RulesSite]:
    site = RulesSite(tmp_path, db_url)
    yield site
    site.archive.close()
    site.db.dispose()


def _uids(site: RulesSite, study_uid: str) -> set[str]:
    with site.db.session() as s:
        return set(s.scalars(select(Instance.sop_instance_uid).join(Series, Instance.series_fk == Series.id)
                             .join(Study, Series.study_fk == Study.id).where(Study.study_instance_uid == study_uid)))


def _files(site: RulesSite) -> int:
    return sum(1 for p in site.archive.root.rglob("*.dcm"))


def _context(site: RulesSite) -> JobContext:
    robot = robot_drivers.create("simulator", time_scale=0.0, lock_dir=site.tmp / "locks")
    return JobContext(site.db, site.archive.root, site.tmp / "jobs", robot, viewer=False)


def test_instances_go_only_once_burned_forwarded_and_past_grace(site: RulesSite, tmp_path: Path) -> None:
    require_tool("storescp", "echoscu")
    site.store(CT_A, "CT1")  # 3 CT + 1 SR: the rule burns it, the route forwards it
    site.store(MR_C, "MR1")  # neither burned nor forwarded by anything: only the grace period holds it
    ct = _uids(site, CT_A.uid)
    clock = [utcnow() + 2 * HOUR]
    retention = Retention(site.db, site.archive.root, RetentionSettings(mode="buffer", grace_hours=1.0), (CT_RULE,),
                          now=lambda: clock[0])
    with storescp(tmp_path / "dest", "DEST") as port:
        dicom = DicomSettings(ae_title="DISCPUB", remotes=(RemoteAE("DEST", "127.0.0.1", port),))
        fwd = forwarder.build(site.db, site.archive.root, dicom, (ROUTE,), (), ForwardSettings())
        assert retention.run().count == 0  # nothing routed yet: a forward may still want every instance
        while fwd.router.tick():
            pass
        assert len(queue.listing(site.db, ("pending",))) == len(ct) - 1  # the CT series (the SR is not routed)
        first = retention.run()  # CT: forward pending, not burned; MR: needed by nothing, grace passed
        assert _uids(site, CT_A.uid) == ct and _uids(site, MR_C.uid) == set()
        assert first.purged == {"buffer": first.purged["buffer"]} and first.count == 2
        assert fwd.tick().sent == len(ct) - 1
    assert all(i.state == "sent" for i in queue.listing(site.db, ("sent",)))
    assert retention.run().count == 0 and _uids(site, CT_A.uid) == ct  # forwarded, not burned yet

    ctx = _context(site)
    job = create_job(site.db, Selection(studies=(CT_A.uid,)), media="cd", created_by="rule:ct-discs")
    assert retention.run().count == 0 and _uids(site, CT_A.uid) == ct  # queued: the job needs them
    assert run_job(ctx, job) is JobState.DONE
    clock[0] = utcnow() + 0.5 * HOUR
    assert retention.run().count == 0 and _uids(site, CT_A.uid) == ct  # burned and forwarded, grace not over
    clock[0] = utcnow() + 2 * HOUR
    done = retention.run()
    assert sorted(done.purged["buffer"]) == sorted(ct) and _uids(site, CT_A.uid) == set()
    assert _files(site) == 0
    with site.db.session() as s:
        purged = dict(s.execute(select(PurgedInstance.sop_instance_uid, PurgedInstance.study_instance_uid)).all())
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "purge")))
        study_rows = s.scalar(select(func.count()).select_from(Study))
    assert {u for u, st in purged.items() if st == CT_A.uid} == ct and len(purged) == len(ct) + 2
    assert len(events) == 2 and CT_A.uid in events[-1].detail and study_rows == 2  # the index still knows the studies


def test_low_water_purge_spares_what_a_queued_job_or_a_forward_needs(site: RulesSite, tmp_path: Path) -> None:
    site.store(CT_A, "CT1")
    site.store(CT_B, "CT2")
    site.store(MR_C, "MR1")
    a, b, c = _uids(site, CT_A.uid), _uids(site, CT_B.uid), _uids(site, MR_C.uid)
    route = Route("mr-out", when=("modality = MR",), forward_to=("DOWN",))  # a destination nobody runs
    fwd = forwarder.build(site.db, site.archive.root, DicomSettings(), (route,), (), ForwardSettings())
    while fwd.router.tick():
        pass
    job = create_job(site.db, Selection(studies=(CT_B.uid,)), media="cd")
    # long grace and a rule that burns CT: buffer mode alone would delete nothing now
    settings = RetentionSettings(mode="buffer", grace_hours=1000.0, low_water_bytes=2**62)
    report = Retention(site.db, site.archive.root, settings, (CT_RULE,)).run()
    assert set(report.purged) == {"low-water"} and set(report.purged["low-water"]) == a
    assert _uids(site, CT_A.uid) == set() and _uids(site, CT_B.uid) == b and _uids(site, MR_C.uid) == c
    assert _files(site) == len(b) + len(c)
    assert Retention(site.db, site.archive.root, settings, (CT_RULE,)).run().count == 0  # nothing more may go
    assert run_job(_context(site), job) is JobState.DONE  # the queued job burns complete


def test_age_purge_takes_old_unburned_instances_but_not_a_pending_forward(site: RulesSite) -> None:
    site.store(CT_A, "CT1")
    site.store(MR_C, "MR1")
    a, c = _uids(site, CT_A.uid), _uids(site, MR_C.uid)
    route = Route("mr-out", when=("modality = MR",), forward_to=("DOWN",))
    fwd = forwarder.build(site.db, site.archive.root, DicomSettings(), (route,), (), ForwardSettings())
    while fwd.router.tick():
        pass
    settings = RetentionSettings(mode="buffer", grace_hours=1.0, max_age_days=30)
    later = utcnow() + dt.timedelta(days=10)
    assert Retention(site.db, site.archive.root, settings, (CT_RULE,), now=lambda: later).run().count == 0  # CT not burned
    later = utcnow() + dt.timedelta(days=31)
    report = Retention(site.db, site.archive.root, settings, (CT_RULE,), now=lambda: later).run()
    assert set(report.purged) == {"max-age"} and set(report.purged["max-age"]) == a  # never burned, but too old
    assert _uids(site, MR_C.uid) == c  # its forward is still pending
    assert queue.cancel(site.db, destination="DOWN") == len(c)
    report = Retention(site.db, site.archive.root, settings, (CT_RULE,), now=lambda: later).run()
    assert set(report.purged["buffer"]) == c  # nothing needs it any more and no rule takes MR


def test_settings_refuse_a_retrieve_from_that_is_no_remote(tmp_path: Path) -> None:
    from publisher.config import ConfigError, load_settings

    site = tmp_path / "site.toml"
    site.write_text('[dicom]\nremotes = [{ ae_title = "PACS", host = "127.0.0.1", port = 104 }]\n\n'
                    '[retention]\nmode = "buffer"\nretrieve_from = ["PACS"]\n')
    settings = load_settings(site, environ={})
    assert (settings.retention.mode, settings.retention.retrieve_from) == ("buffer", ("PACS",))
    site.write_text('[retention]\nmode = "buffer"\nretrieve_from = ["ARCHIVE"]\n')
    with pytest.raises(ConfigError, match=r"retention.retrieve_from: ARCHIVE not in dicom.remotes"):
        load_settings(site, environ={})
    site.write_text('[retention]\nmode = "forever"\n')
    with pytest.raises(ConfigError, match="retention.mode"):
        load_settings(site, environ={})
