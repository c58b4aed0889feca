"""The A.5.3 messages of the events the acceptance test does not drive end to end: a disc import
(Data Import), user administration (Security Alert), a burn with failed copies (one message per
outcome), actions that have no message; and the RFC 5424 header and framing bytes."""

from __future__ import annotations

import base64
import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from publisher.atna import events, syslog
from publisher.atna import xml as X
from tests.atna import structure

AT = dt.datetime(2026, 12, 4, 1, 2, 3, 456000)
SOURCE = events.Source("DISCPUB", "Test Hospital", "publisher.example")


def _one(event: events.Recorded, volumes: dict[str, events.Exported] | None = None) -> ET.Element:
    return _all(event, volumes)[0]


def _all(event: events.Recorded, volumes: dict[str, events.Exported] | None = None) -> list[ET.Element]:
    # through bytes and back, as a repository reads it
    return [ET.fromstring(X.to_bytes(root)) for root in events.build(event, SOURCE, volumes)]


def test_a_disc_import_is_a_data_import_of_the_reconciled_patient() -> None:
    """A.5.3.5: EventID 110107, action C, the importer as Destination Role ID, the disc as the one
    Source Media, patients as filed here (after reconciliation); the reconciled patient also gets
    an A.5.3.14 Patient Record (110110, action U) with the disc's identity in a detail."""
    root, record = _all(events.Recorded(7, AT, "rad", "disc-import", "/dev/sr0", {
        "source": "/dev/sr0", "volume_id": "EXTDISC1", "studies": ["1.2.3"],
        "patients": [{"from": {"id": "EXT-9", "name": "Doe^Jane"}, "to": {"id": "PAT-1", "name": "Doe^Jane"}}],
        "counts": {"refused": 0}}))
    ev = structure.check_general(root)
    assert structure.code(ev.find("EventID")) == ("110107", "DCM", "Import") and ev.get("EventActionCode") == "C"
    assert ev.get("EventOutcomeIndicator") == "0"
    (importer,) = structure.with_role(root, "110152")
    assert importer.get("UserID") == "rad" and importer.get("UserIsRequestor") == "true"
    (medium,) = structure.with_role(root, "110155")
    assert medium.get("UserID") == "EXTDISC1" and medium.find("MediaIdentifier/MediaType") is not None
    assert structure.objects(root, "1", "1", "2") == ["PAT-1"] and structure.objects(root, "2", "3", "110180") == ["1.2.3"]
    ev = structure.check_general(record)
    assert structure.code(ev.find("EventID"))[0] == "110110" and ev.get("EventActionCode") == "U"
    assert structure.objects(record, "1", "1", "2") == ["PAT-1"]
    was = record.find("ParticipantObjectIdentification/ParticipantObjectDetail[@type='Imported as']")
    assert was is not None and base64.b64decode(was.get("value", "")).decode().startswith("EXT-9")


def test_user_administration_is_a_security_alert_about_that_user() -> None:
    """A.5.3.11: EventID 110113, EventTypeCode 110136 for a new user's role, 110137 otherwise; the
    user changed as the Alert Subject (type 2, role 13 security resource) with its "Alert
    Description" detail; a lock lifted from an address names the address as a Node ID."""
    for action, type_code in (("user-add", "110136"), ("user-disable", "110137"), ("password-change", "110137")):
        root = _one(events.Recorded(1, AT, "boss", action, "user desk", {}))
        ev = structure.check_general(root)
        assert structure.code(ev.find("EventID"))[0] == "110113" and ev.get("EventActionCode") == "E"
        assert structure.code(ev.find("EventTypeCode"))[0] == type_code
        assert structure.objects(root, "2", "13", "11") == ["desk"]
        detail = root.find("ParticipantObjectIdentification/ParticipantObjectDetail[@type='Alert Description']")
        assert detail is not None and "desk" in base64.b64decode(detail.get("value", "")).decode()
    root = _one(events.Recorded(1, AT, "boss", "login-unlock", "address 10.1.2.3", {"failures_forgotten": 20}))
    structure.check_general(root)
    assert structure.objects(root, "2", "13", "110182") == ["10.1.2.3"]


def test_a_burn_with_a_failed_copy_gives_one_message_per_outcome() -> None:
    """A.5.1: no message of mixed results: per volume, one message for its good copies and one for
    its failed ones, each failure described by that volume's own errors."""
    detail = {"robot": "simulator", "error": "", "discs": [
        {"volume": 1, "copy": 1, "ok": True, "error": ""}, {"volume": 1, "copy": 2, "ok": False, "error": "verify failed"},
        {"volume": 2, "copy": 1, "ok": True, "error": ""}, {"volume": 2, "copy": 2, "ok": False, "error": "tray jam"}]}
    volumes = {f"FS{n}": events.Exported("dvd", (("PAT-1", "Doe^Jane"),), ("1.2.3",), n) for n in (1, 2)}
    messages = [ET.fromstring(X.to_bytes(m)) for m in events.build(events.Recorded(3, AT, "service", "burn", "job 5",
                                                                                   detail), SOURCE, volumes)]
    got = []
    for root in messages:
        _, _, media = structure.check_export(root)
        ev = root.find("EventIdentification")
        assert ev is not None
        got.append((media, ev.get("EventOutcomeIndicator"), ev.findtext("EventOutcomeDescription", "")))
    assert got == [("FS1", "0", ""), ("FS1", "8", "verify failed"), ("FS2", "0", ""), ("FS2", "8", "tray jam")]


def test_job_bookkeeping_has_no_message() -> None:
    for action in ("job-created", "cancel", "resubmit", "media-export"):
        assert events.build(events.Recorded(1, AT, "rad", action, "job 1", {}), SOURCE) == []


def test_the_syslog_header_and_framing() -> None:
    """RFC 5424 6: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD, then a BOM and the XML;
    RFC 5425 4.3: the frame is the octet count, a space, the message."""
    xml = "<AuditMessage>é</AuditMessage>".encode()
    msg = syslog.format_message(xml, AT, hostname="host name", app_name="DISCPUB", failure=True, procid="42")
    assert msg == b"<84>1 2026-12-04T01:02:03.456000Z host_name DISCPUB 42 IHE+RFC-3881 - \xef\xbb\xbf" + xml
    assert syslog.octet_counted(msg) == str(len(msg)).encode() + b" " + msg


def test_a_volume_with_many_studies_is_split_into_messages_a_receiver_takes() -> None:
    """PS3.15 A.6: receivers must take 32,768 octets, not more: 300 studies on one disc go out in
    several Exports, each under the limit, naming every study once and the patient in each."""
    uids = tuple(f"1.2.826.0.1.3680043.10.{n}" for n in range(300))
    contents = {u: {"sop_classes": {"1.2.840.10008.5.1.4.1.1.2": 40}, "accessions": [f"A{u[-3:]}"]} for u in uids}
    volumes = {"FS1": events.Exported("dvd", (("PAT-1", "Doe^Jane"),), uids, 1, contents)}
    detail = {"discs": [{"volume": 1, "copy": 1, "ok": True}]}
    messages = [X.to_bytes(m) for m in events.build(events.Recorded(3, AT, "rad", "burn", "job 5", detail), SOURCE, volumes)]
    assert len(messages) > 1 and all(len(m) <= events.LIMIT for m in messages)
    named = []
    for m in messages:
        patients, studies, media = structure.check_export(ET.fromstring(m))
        assert patients == ["PAT-1"] and media == "FS1"
        named += studies
    assert sorted(named) == sorted(uids)


def test_an_unusable_certificate_stops_the_service_with_the_settings_named(tmp_path: Path) -> None:
    """``publisher serve`` prints "configuration error: audit.ca_file / cert_file / key_file ..."."""
    from publisher.config import AuditSettings, ConfigError, Settings
    from publisher.service import Service

    settings = Settings(data_dir=tmp_path, audit=AuditSettings(host="127.0.0.1", cert_file=str(tmp_path / "missing.pem")))
    service = Service(settings)
    try:
        with pytest.raises(ConfigError, match="audit.ca_file / cert_file / key_file .*missing.pem"):
            service.start_audit_export()
    finally:
        service.stop()
