"""Acceptance (issue 16, 2): burning a disc (the job worker on the simulator robot), handing it out
and a failed login reach a real syslog receiver (rsyslogd, tests/atna/receiver.py) as DICOM audit
messages with the right event IDs and participants (PS3.15 A.5.3, checked by tests/atna/structure.py); with the receiver down they
wait in the database, survive a SIGKILL of the sender, and are delivered in order when it returns.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from publisher.atna.export import AuditExporter
from publisher.config import AuditSettings
from publisher.jobs.disc_job import create_job
from publisher.jobs.selection import Selection
from publisher.jobs.state import JobState
from publisher.jobs.worker import JobWorker
from tests.atna import structure
from tests.atna.receiver import Receiver, available
from tests.support.tools import unavailable
from tests.support.certs import Certs
from tests.support.web_site import WEB_STUDIES, Site, csrf_of, make_site

pytestmark = pytest.mark.interop
CYRILLIC = WEB_STUDIES[1]


@pytest.fixture
def receiver(tmp_path: Path, certs: Certs) -> Iterator[Receiver]:
    if not available():
        unavailable("rsyslogd with rsyslog-gnutls (.ci/install-peers.sh)")
    folder = tmp_path / "rsyslog"
    folder.mkdir()
    r = Receiver(folder, certs.ca, certs.server.cert, certs.server.key)
    yield r
    r.stop()


def _settings(r: Receiver, transport: str, certs: Certs, **more: Any) -> AuditSettings:  # noqa: F811
    port = {"tls": r.tls_port, "tcp": r.tcp_port, "udp": r.udp_port}[transport]
    return AuditSettings(host="127.0.0.1", port=port, transport=transport, ca_file=str(certs.ca),  # type: ignore[arg-type]
                         cert_file=str(certs.client.cert), key_file=str(certs.client.key), source_id="DISCPUB",
                         site_id="Test Hospital", **more)


def _received(r: Receiver, count: int) -> list[tuple[dict[str, Any], ET.Element]]:
    """Poll until the receiver wrote ``count`` messages; each with its parsed XML."""
    deadline = time.monotonic() + 60
    while len(r.messages()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    got = r.messages()
    assert len(got) >= count, f"{len(got)} of {count} message(s) received: {got}"
    out = []
    for m in got:
        assert m["msg"].startswith("\ufeff<?xml"), "MSG is UTF-8 with its BOM (RFC 5424 6.4), then the XML"
        out.append((m, ET.fromstring(m["msg"][1:].encode("utf-8"))))
    return out


def _event_id(root: ET.Element) -> str:
    el = root.find("EventIdentification/EventID")
    assert el is not None
    return el.get("csd-code", "")


def _stored_sop_classes(site: Site, study_uid: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from publisher.db.models import Instance, Series, Study

    with site.db.session() as s:
        rows = s.execute(select(Instance.sop_class_uid, func.count(Instance.id)).join(Series).join(Study)
                         .where(Study.study_instance_uid == study_uid).group_by(Instance.sop_class_uid))
        return {str(cls): int(n) for cls, n in rows}


def _job_state(site: Site, job_id: int) -> str:
    from publisher.db.models import DiscJob

    with site.db.session() as s:
        job = s.get(DiscJob, job_id)
        return job.state if job is not None else ""


def _until(what: str, predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 120
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _hand_out(site: Site, job_id: int) -> None:
    desk = site.login("desk")
    form = desk.get(f"/jobs/{job_id}/handout").text
    r = desk.post(f"/jobs/{job_id}/handout", data={"csrf": csrf_of(form), "disc": "1-1", "recipient": "Иванов Пётр",
                                                   "relation": "relative", "id_checked": "yes", "note": ""})
    assert r.status_code == 303, r.text


def _fail_login(site: Site, name: str) -> None:
    assert site.post_login(site.client(), name, "not-the-password").status_code == 401  # type: ignore[attr-defined]


def test_burn_hand_out_and_failed_login_reach_the_repository_over_tls(tmp_path: Path, sqlite_url: str,
                                                                      receiver: Receiver, certs: Certs) -> None:  # noqa: F811
    site = make_site(tmp_path, sqlite_url)
    receiver.start()
    job_id = create_job(site.db, Selection(studies=[str(CYRILLIC.uid)]), copies=1, created_by="rad")
    worker = JobWorker(site.job_context(), (), tick_seconds=0.1, run_queued=True)  # the simulator robot
    worker.start()
    try:
        _until("the job burned", lambda: _job_state(site, job_id) == JobState.DONE.value)
    finally:
        worker.stop()
    _hand_out(site, job_id)
    _fail_login(site, "desk")
    exporter = AuditExporter(site.db, _settings(receiver, "tls", certs), source_id="IGNORED")
    assert exporter.send_waiting() >= 4 and exporter.waiting() == 0, exporter.last_error
    received = _received(receiver, 4)
    assert {m["input"] for m, _ in received} == {"tls"}
    assert all(m["version"] == "1" and m["msgid"] == "IHE+RFC-3881" and m["app"] == "DISCPUB" for m, _ in received)
    exports = [(m, root) for m, root in received if _event_id(root) == "110106"]
    logins = [(m, root) for m, root in received if _event_id(root) == "110114"]
    assert len(exports) == 2 and len(logins) == 2, [_event_id(r) for _, r in received]  # burn, hand-out; desk ok, failed

    (burn_pri, burn), (handout_pri, handout) = exports  # in the order they happened
    assert burn_pri["pri"] == handout_pri["pri"] == "85", "facility 10, severity notice (PS3.15 A.6)"
    patients, studies, media = structure.check_export(burn)
    assert patients == [CYRILLIC.patient.patient_id] and studies == [str(CYRILLIC.uid)] and media
    assert {ap.get("UserID") for ap in structure.with_role(burn, "110153")} == {"rad", "DISCPUB"}
    assert structure.sop_classes(burn, str(CYRILLIC.uid)) == _stored_sop_classes(site, str(CYRILLIC.uid))
    source = burn.find("AuditSourceIdentification")
    assert source is not None and source.get("AuditEnterpriseSiteID") == "Test Hospital"
    patients, studies, handed_media = structure.check_export(handout)
    assert patients == [CYRILLIC.patient.patient_id] and studies == [str(CYRILLIC.uid)] and handed_media == media
    (recipient,) = structure.with_role(handout, "110152")
    assert recipient.get("UserID") == "Иванов Пётр" and recipient.get("UserIsRequestor") == "false"
    requestor = [ap for ap in handout.findall("ActiveParticipant") if ap.get("UserIsRequestor") == "true"]
    assert [ap.get("UserID") for ap in requestor] == ["desk"]
    name = handout.find("ParticipantObjectIdentification[@ParticipantObjectTypeCode='1']/ParticipantObjectName")
    assert name is not None and name.text == str(CYRILLIC.patient.name)

    (ok_pri, ok), (failed_pri, failed) = logins
    assert structure.check_login(ok) == ("0", "desk", "testclient") and ok_pri["pri"] == "85"
    assert structure.check_login(failed) == ("4", "desk", "testclient") and failed_pri["pri"] == "84"
    site.db.dispose()


KILLABLE = """
import sys, time
from publisher.atna.export import AuditExporter
from publisher.config import AuditSettings
from publisher.db.session import Database
exporter = AuditExporter(Database(sys.argv[1]), AuditSettings(host="127.0.0.1", port=int(sys.argv[2]), transport="tcp",
                                                              retry_seconds=0.05), source_id="DISCPUB")
exporter.start()
print("running", flush=True)
time.sleep(600)
"""


def test_while_the_repository_is_down_events_wait_survive_a_kill_and_go_out_in_order(
        tmp_path: Path, db_url: str, receiver: Receiver, certs: Certs) -> None:  # noqa: F811
    site = make_site(tmp_path, db_url)
    names = [f"ghost{i}" for i in range(5)]
    for name in names:
        _fail_login(site, name)
    # a sender tries (the repository is down), then is killed with SIGKILL
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE, db_url, str(receiver.tcp_port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None and proc.stdout.readline() == b"running\n"
    exporter = AuditExporter(site.db, _settings(receiver, "tcp", certs), source_id="DISCPUB")
    assert exporter.send_waiting() == 0 and exporter.last_error, "nothing can go while the repository is down"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert exporter.waiting() == len(names)
    receiver.start()
    _fail_login(site, "late")
    _until("the queue emptied", lambda: exporter.send_waiting() >= 0 and exporter.waiting() == 0)
    received = _received(receiver, len(names) + 1)
    assert [structure.check_login(root)[1] for _, root in received] == names + ["late"], "in the order recorded"
    assert {m["input"] for m, _ in received} == {"tcp"}
    site.db.dispose()


def test_udp_datagrams_reach_the_repository(tmp_path: Path, sqlite_url: str, receiver: Receiver,
                                            certs: Certs) -> None:  # noqa: F811
    """RFC 5426 (PS3.15 A.7): one message per datagram, nothing else around it."""
    site = make_site(tmp_path, sqlite_url)
    receiver.start()
    _fail_login(site, "udp-user")
    exporter = AuditExporter(site.db, _settings(receiver, "udp", certs), source_id="DISCPUB")
    assert exporter.send_waiting() == 1
    ((m, root),) = _received(receiver, 1)
    assert m["input"] == "udp" and structure.check_login(root)[:2] == ("4", "udp-user")
    site.db.dispose()


def test_the_running_service_sends_what_is_recorded(tmp_path: Path, sqlite_url: str, receiver: Receiver,
                                                     certs: Certs) -> None:  # noqa: F811
    """``publisher serve`` starts the export with the service (``[audit] host`` set): its thread
    picks up an event written by anyone (here the CLI's way, a session of its own) and sends it."""
    from publisher import audit
    from publisher.config import Settings
    from publisher.service import Service

    receiver.start()
    settings = Settings(data_dir=tmp_path / "data", database_url=sqlite_url,
                        audit=_settings(receiver, "tls", certs, poll_seconds=0.05))
    service = Service(settings)
    service.prepare()
    try:
        assert service.start_audit_export() is not None
        with service.db.session() as s:
            audit.record(s, "boss", "user-add", "user newbie", {"role": "frontdesk"})
        ((m, root),) = _received(receiver, 1)
        ev = structure.check_general(root)
        assert structure.code(ev.find("EventID"))[0] == "110113" and m["input"] == "tls"
        assert structure.objects(root, "2", "13", "11") == ["newbie"]
    finally:
        service.stop()


def test_a_repository_whose_certificate_we_do_not_trust_gets_nothing(tmp_path: Path, sqlite_url: str,
                                                                      receiver: Receiver, certs: Certs) -> None:  # noqa: F811
    """The trail holds patient names: it goes only to the repository signed by ``ca_file``; with
    another CA the handshake fails and the events stay queued."""
    site = make_site(tmp_path, sqlite_url)
    receiver.start()
    _fail_login(site, "desk")
    settings = _settings(receiver, "tls", certs)
    exporter = AuditExporter(site.db, AuditSettings(**{**settings.__dict__, "ca_file": str(certs.other_ca)}),
                             source_id="DISCPUB")
    assert exporter.send_waiting() == 0 and "certificate" in exporter.last_error.lower()
    assert exporter.waiting() == 1 and receiver.messages() == []
    site.db.dispose()


def test_a_restarted_repository_loses_nothing_sent_after_it_went_away(tmp_path: Path, sqlite_url: str,
                                                                       receiver: Receiver, certs: Certs) -> None:  # noqa: F811
    """The open connection of a repository that restarted is noticed (it was closed) before the
    next message is written into it: the sender reconnects and that message arrives."""
    site = make_site(tmp_path, sqlite_url)
    receiver.start()
    exporter = AuditExporter(site.db, _settings(receiver, "tls", certs), source_id="DISCPUB")
    _fail_login(site, "before")
    assert exporter.send_waiting() == 1 and len(_received(receiver, 1)) == 1
    receiver.stop()
    receiver.start()
    _fail_login(site, "after")
    assert exporter.send_waiting() == 1
    assert [structure.check_login(root)[1] for _, root in _received(receiver, 2)] == ["before", "after"]
    exporter.stop()
    site.db.dispose()
