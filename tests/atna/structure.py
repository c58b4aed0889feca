"""Checks of a received audit message against PS3.15 A.5: the schema's required parts (A.5.1)
and the event definitions of A.5.3 for the events we send. Written from the standard's tables,
independently of publisher.atna's builders: it reads only the XML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

ACTIONS = {"C", "R", "U", "D", "E"}
OUTCOMES = {"0", "4", "8", "12"}


def code(el: ET.Element | None) -> tuple[str, str, str]:
    """A CodedValueType: csd-code, codeSystemName and originalText, all required (A.5.1)."""
    assert el is not None
    triple = (el.get("csd-code", ""), el.get("codeSystemName", ""), el.get("originalText", ""))
    assert all(triple), f"{el.tag}: incomplete coded value {el.attrib}"
    return triple


def check_general(root: ET.Element) -> ET.Element:
    """A.5.1: AuditMessage = EventIdentification, ActiveParticipant+, AuditSourceIdentification,
    ParticipantObjectIdentification*, in this order; returns the EventIdentification."""
    assert root.tag == "AuditMessage"
    tags = [c.tag for c in root]
    order = {"EventIdentification": 0, "ActiveParticipant": 1, "AuditSourceIdentification": 2,
             "ParticipantObjectIdentification": 3}
    assert all(t in order for t in tags), tags
    assert [order[t] for t in tags] == sorted(order[t] for t in tags), f"elements out of order: {tags}"
    assert tags.count("EventIdentification") == 1 and tags.count("AuditSourceIdentification") == 1, tags
    assert tags.count("ActiveParticipant") >= 1, tags
    ev = root.find("EventIdentification")
    assert ev is not None
    assert ev.get("EventActionCode") in ACTIONS and ev.get("EventOutcomeIndicator") in OUTCOMES, ev.attrib
    when = dt.datetime.fromisoformat(ev.get("EventDateTime", "").replace("Z", "+00:00"))
    assert when.tzinfo is not None, "EventDateTime needs its time zone"
    code(ev.find("EventID"))
    for ap in root.findall("ActiveParticipant"):
        assert ap.get("UserID") and ap.get("UserIsRequestor") in ("true", "false"), ap.attrib
        for role in ap.findall("RoleIDCode"):
            code(role)
    assert sum(ap.get("UserIsRequestor") == "true" for ap in root.findall("ActiveParticipant")) == 1, \
        "exactly one requestor"
    src = root.find("AuditSourceIdentification")
    assert src is not None and src.get("AuditSourceID")
    code(src.find("AuditSourceTypeCode"))
    for ap in root.findall("ActiveParticipant"):  # RoleIDCode*, then MediaIdentifier?
        kids = [c.tag for c in ap]
        assert kids == ["RoleIDCode"] * kids.count("RoleIDCode") + ["MediaIdentifier"] * kids.count("MediaIdentifier"), kids
    for po in root.findall("ParticipantObjectIdentification"):
        assert po.get("ParticipantObjectID") and po.get("ParticipantObjectTypeCode") and \
            po.get("ParticipantObjectTypeCodeRole"), po.attrib
        kids = [c.tag for c in po]  # the ID type code, then a name or a query: one is required
        assert kids[:1] == ["ParticipantObjectIDTypeCode"] and len(kids) > 1, kids
        assert kids[1] in ("ParticipantObjectName", "ParticipantObjectQuery"), kids
        code(po.find("ParticipantObjectIDTypeCode"))
    return ev


def with_role(root: ET.Element, role_code: str) -> list[ET.Element]:
    return [ap for ap in root.findall("ActiveParticipant")
            if any(r.get("csd-code") == role_code for r in ap.findall("RoleIDCode"))]


def objects(root: ET.Element, type_code: str, role: str, id_type: str) -> list[str]:
    return [po.get("ParticipantObjectID", "") for po in root.findall("ParticipantObjectIdentification")
            if po.get("ParticipantObjectTypeCode") == type_code and po.get("ParticipantObjectTypeCodeRole") == role
            and code(po.find("ParticipantObjectIDTypeCode"))[0] == id_type]


def check_export(root: ET.Element) -> tuple[list[str], list[str], str]:
    """A.5.3.4 Data Export (110106, action R): one or two Source Role ID participants (the person
    and the process), exactly one Destination Media with its MediaIdentifier / MediaType, at least
    one patient (type 1, role 1, Patient Number). Returns (patient IDs, study UIDs, media ID)."""
    ev = check_general(root)
    assert code(ev.find("EventID")) == ("110106", "DCM", "Export") and ev.get("EventActionCode") == "R"
    assert 1 <= len(with_role(root, "110153")) <= 2
    (media,) = with_role(root, "110154")
    assert media.get("UserIsRequestor") == "false"
    media_type = media.find("MediaIdentifier/MediaType")
    assert code(media_type)[0] in ("110032", "110033"), "a CD or DVD (CID 405)"
    patients = objects(root, "1", "1", "2")
    assert patients, "an Export names its patients"
    return patients, objects(root, "2", "3", "110180"), media.get("UserID", "")


def check_login(root: ET.Element) -> tuple[str, str, str]:
    """A.5.3.12 User Authentication (110114, action E, EventTypeCode 110122 Login): one or two
    participants, the person the requestor with their network access point; no participant objects.
    Returns (outcome, user, address)."""
    ev = check_general(root)
    assert code(ev.find("EventID")) == ("110114", "DCM", "User Authentication") and ev.get("EventActionCode") == "E"
    assert code(ev.find("EventTypeCode")) == ("110122", "DCM", "Login")
    aps = root.findall("ActiveParticipant")
    assert 1 <= len(aps) <= 2 and not root.findall("ParticipantObjectIdentification")
    person = next(ap for ap in aps if ap.get("UserIsRequestor") == "true")
    assert person.get("NetworkAccessPointTypeCode") in ("1", "2") and person.get("NetworkAccessPointID"), \
        "the authenticated person's network access point is M"
    return ev.get("EventOutcomeIndicator", ""), person.get("UserID", ""), person.get("NetworkAccessPointID", "")


def sop_classes(root: ET.Element, study_uid: str) -> dict[str, int]:
    """A study object's ParticipantObjectDescription/SOPClass: UID -> NumberOfInstances."""
    (po,) = [po for po in root.findall("ParticipantObjectIdentification") if po.get("ParticipantObjectID") == study_uid]
    return {c.get("UID", ""): int(c.get("NumberOfInstances", "0")) for c in po.findall("ParticipantObjectDescription/SOPClass")}
